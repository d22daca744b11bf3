/**
 * When a lab host's agent fenced itself (killed every pod because it could not renew its lease in
 * time, node-agent/agent/node-link.ts), read from the line the pod manager always logs with its
 * time. The agent's log survives its restarts (each start appends), so it covers the whole lab.
 */
import { readFile } from "node:fs/promises";
import { componentLogFile } from "../../kctl/lab/lab-state.js";

const FENCE_LINE = / \[pod-manager\] WARN fencing: killing every pod/;

/** The times (ms since the epoch) the agent of `node` fenced, oldest first. */
export async function fenceTimesOf(labDir: string, node: string): Promise<number[]> {
  const log = await readFile(componentLogFile(labDir, node), "utf8").catch(() => "");
  return log
    .split("\n")
    .filter((line) => FENCE_LINE.test(line))
    .map((line) => Date.parse(line.slice(0, line.indexOf(" "))))
    .filter((t) => !Number.isNaN(t));
}
