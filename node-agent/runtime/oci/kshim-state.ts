/**
 * A container's state read from kshim's state dir in the agent's own process, with the rules of
 * `kshim state` (native/src/state.c, `state_status`): stopped once the monitor wrote `exit.json`;
 * otherwise running (or created, while `exec.fifo` waits for `start`) as long as the init process
 * with the recorded start time lives, or else as long as the monitor does. The worker asks every
 * second for every running container; a `kshim state` process each time would block the agent's
 * event loop for the length of a fork per container per second.
 */
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";

/** What `kshim create` records in `shim.json` that the status depends on. */
interface ShimRecord {
  pid: number;
  pidStartTime: number;
  monitorPid: number;
  monitorStartTime: number;
  logPath?: string;
}

export type KshimStatus = "created" | "running" | "stopped";

export interface KshimState {
  status: KshimStatus;
  pid: number;
  logPath?: string;
}

/**
 * The state of container `id` under `root`; `undefined` when kshim has no readable record of it
 * (no state dir, or a create that has not written `shim.json` yet): the caller asks `kshim state`,
 * which tells a missing container from a broken one.
 */
export async function readKshimState(root: string, id: string): Promise<KshimState | undefined> {
  const dir = join(root, id);
  let rec: ShimRecord;
  try {
    rec = JSON.parse(await readFile(join(dir, "shim.json"), "utf8")) as ShimRecord;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(rec.pid) || !Number.isInteger(rec.monitorPid)) return undefined;
  const status = await statusOf(dir, rec);
  // As the OCI state has it: a stopped container has no pid.
  const state: KshimState = { status, pid: status === "stopped" ? 0 : rec.pid };
  if (rec.logPath) state.logPath = rec.logPath;
  return state;
}

async function statusOf(dir: string, rec: ShimRecord): Promise<KshimStatus> {
  if (await exists(join(dir, "exit.json"))) return "stopped";
  if ((await procStartTime(rec.pid)) !== rec.pidStartTime)
    return (await procStartTime(rec.monitorPid)) === rec.monitorStartTime ? "running" : "stopped";
  return (await exists(join(dir, "exec.fifo"))) ? "created" : "running";
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks); 0 for a process gone or a zombie. */
async function procStartTime(pid: number): Promise<number> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return 0;
  }
  // The command name may hold spaces and parentheses: fields restart after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[0] === "Z" || fields[0] === "X" ? 0 : Number(fields[19]);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
