/**
 * How many times a lab host's agent fenced itself (killed every pod because it could not renew its
 * lease in time, node-agent/agent/node-link.ts), counted from the lines the pod manager always logs.
 * The agent's log survives its restarts (each start appends), so the count covers the whole lab.
 */
import { readFile } from "node:fs/promises";
import { componentLogFile } from "../../kctl/lab/lab-state.js";

const FENCE_LINE = "fencing: killing every pod";

export async function fencesOf(labDir: string, node: string): Promise<number> {
  const log = await readFile(componentLogFile(labDir, node), "utf8").catch(() => "");
  return log.split(FENCE_LINE).length - 1;
}
