/**
 * A monitor inside the agent for runtimes that have none of their own (runc, crun): the container
 * runs under `<runtime> run`, a child of the agent, whose stdout/stderr are written to a CRI-format
 * log and whose exit status is saved as `exit.json` — the same files the shim's own monitor writes,
 * so the driver reads both alike. It lives only as long as the agent: a container adopted after an
 * agent restart keeps running, but its exit status is then unknown (reported as exit code -1).
 */
import { spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { RuntimeError } from "./errors.js";

export interface ExitInfo {
  exitCode: number;
  signal: number;
  oomKilled: boolean;
  finishedAt: string;
}

export function monitorLogPath(dir: string): string {
  return join(dir, "container.log");
}

/**
 * Starts `argv` (a `run --pid-file <dir>/pid ...` command line) with its output logged to
 * `<dir>/container.log`, and resolves once the pid file exists, i.e. the container's process runs,
 * with a promise that settles when `exit.json` has been written. Rejects with the command's stderr
 * when it exits before the container ran.
 */
export async function startMonitored(
  argv: readonly string[],
  dir: string,
  what: string,
): Promise<{ exited: Promise<void> }> {
  await mkdir(dir, { recursive: true });
  const log = createWriteStream(monitorLogPath(dir), { flags: "a" });
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], detached: true });
  const stderrTail: string[] = [];
  const closed = Promise.all([
    pipeCri(child.stdout, "stdout", log),
    pipeCri(child.stderr, "stderr", log, (line) => {
      stderrTail.push(line);
      if (stderrTail.length > 5) stderrTail.shift();
    }),
  ]);
  let exited = false;
  let saved: () => void = () => undefined;
  const exitSaved = new Promise<void>((resolve) => {
    saved = resolve;
  });
  child.on("exit", (code) => {
    exited = true;
    const exitCode = code ?? 128;
    const info: ExitInfo = {
      exitCode,
      signal: exitCode > 128 ? exitCode - 128 : 0,
      oomKilled: false,
      finishedAt: new Date().toISOString(),
    };
    void closed.finally(async () => {
      log.end();
      await writeAtomic(join(dir, "exit.json"), JSON.stringify(info)).catch(() => undefined);
      saved();
    });
  });
  child.unref();
  const pidFile = join(dir, "pid");
  for (;;) {
    const ran = await stat(pidFile).then(
      () => true,
      () => false,
    );
    if (ran) return { exited: exitSaved };
    if (exited) {
      await closed;
      throw new RuntimeError(
        "CommandFailed",
        `${what}: exited before the container ran: ${stderrTail.join(" | ")}`,
      );
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The saved exit status, once the monitored command has exited. */
export async function readExit(dir: string): Promise<ExitInfo | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, "exit.json"), "utf8")) as ExitInfo;
  } catch {
    return undefined;
  }
}

export async function removeMonitorDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Copies a stream into the log as CRI lines (`<RFC3339Nano> <stream> F <line>`). */
function pipeCri(
  input: Readable,
  stream: "stdout" | "stderr",
  log: WriteStream,
  onLine?: (line: string) => void,
): Promise<void> {
  let pending = "";
  const emit = (line: string, tag: "F" | "P") => {
    log.write(`${criTimestamp()} ${stream} ${tag} ${line}\n`);
    onLine?.(line);
  };
  input.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    let nl = pending.indexOf("\n");
    while (nl >= 0) {
      emit(pending.slice(0, nl), "F");
      pending = pending.slice(nl + 1);
      nl = pending.indexOf("\n");
    }
  });
  return new Promise((resolve) => {
    input.on("close", () => {
      if (pending !== "") emit(pending, "P");
      resolve();
    });
  });
}

/** RFC 3339 with nanoseconds, as CRI logs carry (the last six digits are zero: Date has ms). */
function criTimestamp(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}
