/**
 * The identity of a node agent that runs on the control plane's own host (`kctl up`): its
 * certificate is signed directly with the CA in the state dir, no bootstrap token needed.
 */
import { join } from "node:path";
import { nodeCertificateDays } from "../../foundation/bootstrap/join-protocol.js";
import { nodesGroup, nodeUserPrefix } from "../../foundation/bootstrap/node-names.js";
import { ensureCa, issueCertificate } from "../../foundation/pki/pki.js";
import type { NodeIdentity } from "../../node-agent/agent/credentials.js";

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
