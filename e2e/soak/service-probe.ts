/**
 * One request of the soak's request loop: an HTTP GET of a Service's ClusterIP from a lab host
 * (busybox wget, given up after 3 s), and, when it fails, what the host itself knew at that moment,
 * so a failure can be put down to a cause rather than guessed at: the endpoints in the host's
 * nftables service chain, and the pod address its conntrack table shows the failed connection was
 * sent to.
 */
import type { LabCluster } from "../support/lab-cluster.js";

export interface ProbeResult {
  ok: boolean;
  /** When the request was sent, epoch ms. */
  atMs: number;
  elapsedMs: number;
  /** The pod that answered (the body names it). */
  servedBy?: string;
  /** wget's exit code and message; 124 is the 3 s timeout. */
  code: number;
  error?: string;
}

export interface FailureDiagnosis {
  /** The endpoints (ip:port) the host's nft chain of the Service held just after the failure. */
  hostEndpoints: string[];
  /**
   * Connections to the ClusterIP that conntrack holds unanswered or reset (`SYN_SENT`, `CLOSE`),
   * newest first, as `state endpoint timeout`: where the failed request was sent.
   */
  unanswered: string[];
}

/** The soak's request timeout: busybox wget under `timeout 3`. */
export const REQUEST_TIMEOUT_S = 3;

export async function probeService(lab: LabCluster, host: string, clusterIP: string): Promise<ProbeResult> {
  const atMs = Date.now();
  const res = await lab.onNode(
    host,
    "timeout",
    String(REQUEST_TIMEOUT_S),
    "busybox",
    "wget",
    "-q",
    "-O-",
    `http://${clusterIP}/`,
  );
  const elapsedMs = Date.now() - atMs;
  if (res.code === 0) return { ok: true, atMs, elapsedMs, servedBy: res.stdout.trim(), code: 0 };
  const error = res.stderr.trim() || (res.code === 124 ? `timed out after ${REQUEST_TIMEOUT_S} s` : "");
  return { ok: false, atMs, elapsedMs, code: res.code, error };
}

/** The endpoints of `service` (namespace/name) in the host's proxy table, from its service chain's rules. */
export function endpointsInTable(table: string, service: string): string[] {
  const chain = new RegExp(`chain svc-[0-9a-f]{8}-${service.replace("/", "\\/")}/[^\\s]* \\{([^}]*)\\}`);
  const body = chain.exec(table)?.[1] ?? "";
  return [...new Set([...body.matchAll(/ep-[0-9a-f]{8}-\S*__(\d+\.\d+\.\d+\.\d+\/\d+)/g)].map((m) => m[1]!))]
    .map((e) => e.replace("/", ":"))
    .sort();
}

/** `conntrack -L` lines of TCP connections to `clusterIP` that were never answered or were reset. */
export function unansweredFlows(conntrack: string, clusterIP: string): string[] {
  const flows: { state: string; endpoint: string; timeout: number }[] = [];
  for (const line of conntrack.split("\n")) {
    const m =
      /^tcp\s+\d+\s+(\d+)\s+(SYN_SENT|CLOSE)\s+src=\S+ dst=(\S+) .*?src=(\S+) dst=\S+ sport=(\d+)/.exec(line);
    if (!m || m[3] !== clusterIP) continue;
    flows.push({ state: m[2]!, endpoint: `${m[4]}:${m[5]}`, timeout: Number(m[1]) });
  }
  return flows.sort((a, b) => b.timeout - a.timeout).map((f) => `${f.state} ${f.endpoint} ${f.timeout}`);
}

export async function diagnoseFailure(
  lab: LabCluster,
  host: string,
  clusterIP: string,
  service: string,
): Promise<FailureDiagnosis> {
  const [table, conntrack] = await Promise.all([
    lab.onNode(host, "nft", "list", "table", "ip", "kctl"),
    lab.onNode(host, "conntrack", "-L", "-p", "tcp", "--orig-dst", clusterIP),
  ]);
  return {
    hostEndpoints: endpointsInTable(table.stdout, service),
    unanswered: unansweredFlows(conntrack.stdout, clusterIP),
  };
}
