/**
 * Runs the system network tools (iproute2's `ip`, util-linux's `unshare`, `nsenter`, `umount`) to
 * completion. A non-zero exit becomes a `CommandFailed` error naming the command line, the batch it
 * was fed and its stderr. `ip` commands are batched (`ip -batch -`): a process per change, not per
 * step. Pod sandboxes use none of these per pod (sandbox-helper-linux.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { tracer } from "../../foundation/util/trace.js";
import { NetworkError } from "./errors.js";

const trace = tracer("network");
let spawned = 0;

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Starts `argv` with stdin piped or not and stdout, stderr piped, counted as one spawn. */
export function spawnTool(argv: readonly string[], stdin: "pipe" | "ignore"): ChildProcess {
  spawned++;
  trace("run", argv.join(" "));
  return spawn(argv[0]!, argv.slice(1), { stdio: [stdin, "pipe", "pipe"] });
}

/** Runs `argv` with `input` on stdin; never rejects on a non-zero exit. */
export function runTool(argv: readonly string[], input = ""): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawnTool(argv, input ? "pipe" : "ignore");
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (d: Buffer) => out.push(d));
    child.stderr!.on("data", (d: Buffer) => err.push(d));
    child.once("error", (e) =>
      reject(new NetworkError("CommandFailed", `cannot run ${argv.join(" ")}: ${e.message}`, { cause: e })),
    );
    child.once("close", (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
    // A tool that fails early stops reading; its exit status tells what went wrong, not EPIPE.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(input);
  });
}

/** Runs `argv` and returns its stdout; a non-zero exit throws `CommandFailed`. */
export async function mustRunTool(argv: readonly string[], input = ""): Promise<string> {
  const res = await runTool(argv, input);
  if (res.code !== 0) {
    const batch = input ? ` (input:\n${input.trimEnd()})` : "";
    const detail = res.stderr.trim() || res.stdout.trim() || `exit code ${res.code}`;
    throw new NetworkError("CommandFailed", `${argv.join(" ")}: ${detail}${batch}`);
  }
  return res.stdout;
}

/**
 * The argv prefix that runs a command inside the network namespace at `netns` (a bind-mounted nsfs
 * file or `/proc/PID/ns/net`); none when `netns` is undefined (the caller's own namespace).
 * iproute2's `-n` only takes names under /run/netns, hence nsenter.
 */
export function inNetns(netns: string | undefined): string[] {
  return netns === undefined ? [] : ["nsenter", `--net=${netns}`];
}

/** Runs `ip -batch -` over `lines` in `netns`, stopping at the first failing line. */
export function ipBatch(netns: string | undefined, lines: readonly string[]): Promise<string> {
  return mustRunTool([...inNetns(netns), "ip", "-batch", "-"], `${lines.join("\n")}\n`);
}

/** Processes spawned so far by this module and the sandbox helper (the benchmark reports spawns per sandbox). */
export function toolSpawnCount(): number {
  return spawned;
}
