/**
 * What a joining node and the join endpoint agree on (the endpoint itself is the control plane's
 * bootstrap/join-endpoint.ts): the two paths, the cluster-info ConfigMap and its kubeconfig, the
 * join response, and the CA hash kubeadm prints, which the joiner pins before it sends its token.
 */
import { createHash, X509Certificate } from "node:crypto";

export const clusterInfoPath = "/apis/kctl.io/v1/cluster-info";
export const joinPath = "/apis/kctl.io/v1/join";
/** Where a node renews its certificate, authenticated by it (node-agent/agent/cert-rotation.ts). */
export const nodeCertificatePath = "/apis/kctl.io/v1/node-certificate";
/** Node certificates live about a year; agents renew them at 80% of that (kubelet client rotation). */
export const nodeCertificateDays = 365;

/** The body of cluster-info: a ConfigMap, as kubeadm publishes it. */
export interface ClusterInfoConfigMap {
  apiVersion: "v1";
  kind: "ConfigMap";
  metadata: { name: "cluster-info"; namespace: "kube-public" };
  data: Record<string, string>;
}

export const jwsKeyPrefix = "jws-kubeconfig-";

export interface JoinResponse {
  caPem: string;
  nodeServiceAddress: string;
  certificatePem: string;
}

/** The kubeconfig cluster-info publishes: the server as the joiner reached it, and the CA. */
export function clusterInfoKubeconfig(server: string, caPem: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "", cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") } },
    ],
    contexts: [],
    users: [],
  });
}

/** The CA in a cluster-info kubeconfig; throws a plain Error naming what is missing. */
export function caFromClusterInfoKubeconfig(kubeconfig: string): string {
  const parsed = JSON.parse(kubeconfig) as {
    clusters?: { cluster?: { "certificate-authority-data"?: string } }[];
  };
  const data = parsed.clusters?.[0]?.cluster?.["certificate-authority-data"];
  if (!data) throw new Error("kubeconfig has no clusters[0].cluster.certificate-authority-data");
  return Buffer.from(data, "base64").toString();
}

/** `sha256:<hex>` of the CA's public key (SubjectPublicKeyInfo), the form kubeadm prints. */
export function caCertHash(caPem: string): string {
  const spki = new X509Certificate(caPem).publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}
