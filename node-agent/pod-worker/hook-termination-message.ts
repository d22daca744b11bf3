/**
 * The container's termination message as a hook, as the kubelet does it: each attempt gets an empty
 * file of its own bind-mounted at `terminationMessagePath` (default /dev/termination-log); when the
 * attempt ends, what it wrote there (its last 4096 bytes) becomes `terminated.message`. With
 * `terminationMessagePolicy: FallbackToLogsOnError`, a container that failed and wrote nothing
 * gets the tail of its log instead (80 lines, at most 2048 bytes).
 */
import { chmod, mkdir, open, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { streamLog } from "./container-logs.js";
import type { PodHook, PodRun } from "./pod-hook.js";

const MESSAGE_MAX_BYTES = 4096;
const LOG_FALLBACK_LINES = 80;
const LOG_FALLBACK_MAX_BYTES = 2048;
export const DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log";

const messageFile = (run: PodRun, id: string) => join(run.podDir, "termination", id);

/** The last `max` bytes of `path`, cut at a character boundary; "" when there is no file. */
async function tail(path: string, max: number): Promise<string> {
  const file = await open(path, "r").catch(() => undefined);
  if (!file) return "";
  try {
    const size = (await file.stat()).size;
    const length = Math.min(size, max);
    const buf = Buffer.alloc(length);
    await file.read(buf, 0, length, size - length);
    return buf.toString("utf8").replace(/^\uFFFD+/, "");
  } finally {
    await file.close();
  }
}

async function logTail(path: string): Promise<string> {
  let text = "";
  await streamLog(path, (chunk) => (text += chunk), { tailLines: LOG_FALLBACK_LINES }).catch(() => undefined);
  const bytes = Buffer.from(text);
  return bytes.length <= LOG_FALLBACK_MAX_BYTES
    ? text
    : bytes
        .subarray(bytes.length - LOG_FALLBACK_MAX_BYTES)
        .toString("utf8")
        .replace(/^\uFFFD+/, "");
}

export function terminationMessageHook(): PodHook {
  return {
    name: "termination-message",
    async prestart(run, a) {
      const source = messageFile(run, a.id);
      await mkdir(join(run.podDir, "termination"), { recursive: true });
      // Any user of the container may write its message, as with the kubelet (whatever the umask).
      await writeFile(source, "");
      await chmod(source, 0o666);
      a.mounts.push({
        source,
        destination: a.spec.terminationMessagePath || DEFAULT_TERMINATION_MESSAGE_PATH,
      });
    },
    async exited(run, a) {
      const exit = a.rec.exit;
      if (!exit) return;
      let message = await tail(messageFile(run, a.id), MESSAGE_MAX_BYTES);
      const fallback = a.spec.terminationMessagePolicy === "FallbackToLogsOnError";
      if (!message && fallback && exit.exitCode !== 0 && a.rec.logPath)
        message = await logTail(a.rec.logPath);
      if (message) exit.message = message;
    },
    async poststop(run, ref) {
      await rm(messageFile(run, ref.id), { force: true });
    },
  };
}
