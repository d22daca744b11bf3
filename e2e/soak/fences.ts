/**
 * What the lab's logs say about node leases: when a host's agent fenced itself (killed every pod
 * because it could not renew its lease in time, node-agent/agent/node-link.ts), read from the line
 * the pod manager always logs with its time, and every renewal a control plane logged as failed or
 * slower than the renew period (controlplane/nodeservice/node-service.ts). Each component's log
 * survives its restarts (each start appends), so they cover the whole lab.
 */
import { readFile } from "node:fs/promises";
import { componentLogFile } from "../../kctl/lab/lab-state.js";

const FENCE_LINE = / \[pod-manager\] WARN fencing: killing every pod/;
/** `<time> [nodeservice] WARN lease renewal failed "node4" "7014 ms" ...` (or "slower than ..."). */
const RENEWAL_LINE =
  / \[nodeservice\] WARN lease renewal (failed|slower than the renew period) "([^"]+)" "(\d+) ms"/;

export interface LateRenewal {
  /** When the control plane logged it (ms since the epoch): as the renewal ended. */
  atMs: number;
  node: string;
  tookMs: number;
  failed: boolean;
}

async function linesOf(labDir: string, component: string): Promise<string[]> {
  const log = await readFile(componentLogFile(labDir, component), "utf8").catch(() => "");
  return log.split("\n");
}

const timeOf = (line: string) => Date.parse(line.slice(0, line.indexOf(" ")));

/** The times (ms since the epoch) the agent of `node` fenced, oldest first. */
export async function fenceTimesOf(labDir: string, node: string): Promise<number[]> {
  return (await linesOf(labDir, node))
    .filter((line) => FENCE_LINE.test(line))
    .map(timeOf)
    .filter((t) => !Number.isNaN(t));
}

/** The renewals the control plane on `host` logged as failed or slow, oldest first. */
export async function lateRenewalsOf(labDir: string, host: string): Promise<LateRenewal[]> {
  return (await linesOf(labDir, `controlplane-${host}`)).flatMap((line) => {
    const m = RENEWAL_LINE.exec(line);
    const atMs = timeOf(line);
    if (!m || Number.isNaN(atMs)) return [];
    return [{ atMs, node: m[2]!, tookMs: Number(m[3]), failed: m[1] === "failed" }];
  });
}
