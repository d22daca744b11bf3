/**
 * What the worker knows about one container of a pod across its attempts, saved as JSON under the
 * pod dir so that a restarted agent keeps restart counts and last states and can adopt the running
 * attempt. Each attempt is a runtime container of its own, `<podUID>-<name>-<attempt>`; the previous
 * one is kept (stopped) for its log until the next attempt replaces it.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ContainerState, ContainerStateTerminated } from "../../proto/gen/api.js";
import type { ContainerRuntimeState } from "../runtime/shim/index.js";

export interface ContainerRecord {
  name: string;
  init: boolean;
  /** The current attempt's runtime container, once one was made. */
  id?: string;
  /** Attempts made after the first: `restartCount`. */
  restarts: number;
  /** The attempt before the current one, kept for `logs --previous`. */
  previousId?: string;
  pid?: number;
  /** Field 22 of /proc/<pid>/stat when it started, so a reused pid is not mistaken for it. */
  pidStartTime?: string;
  imageRef?: string;
  imageID?: string;
  state: ContainerState;
  lastState?: ContainerState;
}

export function newRecord(name: string, init: boolean, reason: string): ContainerRecord {
  return { name, init, restarts: 0, state: { waiting: { reason } } };
}

export function attemptId(podUID: string, name: string, attempt: number): string {
  return `${podUID}-${name}-${attempt}`;
}

/** The terminated state of an attempt the runtime reports stopped (or lost: `undefined`). */
export function terminatedState(
  rec: ContainerRecord,
  runtimeName: string,
  s: ContainerRuntimeState | undefined,
  now: string,
): ContainerStateTerminated {
  const startedAt = rec.state.running?.startedAt;
  const t: ContainerStateTerminated = { containerID: `${runtimeName}://${rec.id}` };
  if (s === undefined) {
    // The runtime lost it (a reboot): the kubelet reports these as ContainerStatusUnknown, 137.
    Object.assign(t, {
      exitCode: 137,
      reason: "ContainerStatusUnknown",
      message: "The container could not be located",
    });
  } else {
    const exitCode = s.exitCode ?? -1;
    t.exitCode = exitCode;
    if (s.signal) t.signal = s.signal;
    t.reason = s.oomKilled ? "OOMKilled" : exitCode === 0 ? "Completed" : "Error";
  }
  if (startedAt !== undefined) t.startedAt = startedAt;
  t.finishedAt = s?.finishedAt ? s.finishedAt.replace(/\.\d+Z$/, "Z") : now;
  return t;
}

export function recordsDir(podDir: string): string {
  return join(podDir, "containers");
}

export async function saveRecord(podDir: string, rec: ContainerRecord): Promise<void> {
  const dir = recordsDir(podDir);
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${rec.init ? "init-" : ""}${rec.name}.json`);
  const temp = `${path}.tmp-${randomBytes(4).toString("hex")}`;
  await writeFile(temp, JSON.stringify(rec));
  await rename(temp, path);
}

/** Saved records by `init:name` / `name`; none for a new pod. */
export async function loadRecords(podDir: string): Promise<ContainerRecord[]> {
  const dir = recordsDir(podDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: ContainerRecord[] = [];
  for (const n of names.filter((x) => x.endsWith(".json"))) {
    try {
      out.push(JSON.parse(await readFile(join(dir, n), "utf8")) as ContainerRecord);
    } catch {
      // a record cut short by a crash: the container starts over as new
    }
  }
  return out;
}

/** The start time of `pid` (field 22 of /proc/<pid>/stat), or undefined when it is gone. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses; fields after it follow the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}
