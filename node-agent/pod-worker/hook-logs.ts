/**
 * The container's log as a hook: each attempt writes `<podDir>/logs/<name>/<attempt>.log` (the
 * shim's monitor writes it, in CRI format); the record keeps the current and the previous one for
 * `kctl logs` and `--previous`. Logs stay until the pod's directory goes.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { AttemptRef, PodHook, PodRun } from "./pod-hook.js";

const logPath = (run: PodRun, a: AttemptRef) => join(run.podDir, "logs", a.name, `${a.attempt}.log`);

export function logsHook(): PodHook {
  return {
    name: "logs",
    async prestart(run, a) {
      a.logPath = logPath(run, a);
      await mkdir(join(run.podDir, "logs", a.name), { recursive: true });
    },
    async poststart(run, a) {
      if (a.rec.logPath) a.rec.previousLogPath = a.rec.logPath;
      a.rec.logPath = logPath(run, a);
      return undefined;
    },
    async restore(run, a) {
      a.rec.logPath = logPath(run, a);
    },
  };
}
