/**
 * The identity of a node agent that runs on the control plane's own host (`kctl up`): its
 * certificate is signed directly with the CA in the state dir, no bootstrap token needed.
 */
import { join } from "node:path";
import type { NodeIdentity } from "../../node-agent/agent/credentials.js";
import { nodesGroup, nodeUserPrefix } from "../nodeservice/node-identity.js";
import { ensureCa, issueCertificate } from "../pki/pki.js";
import { nodeCertificateDays } from "./join-endpoint.js";

export async function localNodeIdentity(
  stateDir: string,
  nodeName: string,
  endpoints: { apiUrl: string; nodeServiceAddress: string },
): Promise<NodeIdentity> {
  const ca = await ensureCa(join(stateDir, "pki"));
  const pair = await issueCertificate(ca, {
    commonName: `${nodeUserPrefix}${nodeName}`,
    organization: nodesGroup,
    client: true,
    validityDays: nodeCertificateDays,
  });
  return {
    nodeName,
    server: endpoints.apiUrl,
    nodeServiceAddress: endpoints.nodeServiceAddress,
    caPem: ca.certPem,
    certPem: pair.certPem,
    keyPem: pair.keyPem,
  };
}

/** This host's name as a node name: lower case, and only what DNS-1123 allows. */
export function nodeNameFromHostname(host: string): string {
  const name = host
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "");
  return name || "node";
}
