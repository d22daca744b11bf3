/**
 * Runs the built kctl (dist/kctl/main.js) as a real process, the way a user does: `kctl up` in the
 * background until stopped by pid, and one-shot commands with their output and exit code. The e2e
 * tests need `npm run build` first, which `npm test` does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { basename, join } from "node:path";

const repoRoot = join(import.meta.dirname, "..", "..");
// Compiled scripts (the soak) run this file from dist/e2e/support, where dist/ is the root already.
const distRoot = basename(repoRoot) === "dist" ? repoRoot : join(repoRoot, "dist");

/** A file of the build, e.g. `distPath("e2e", "support", "api-gap-poller.js")`. */
export const distPath = (...segments: string[]): string => join(distRoot, ...segments);

export const kctlMain = distPath("kctl", "main.js");

export function requireBuild(): void {
  if (!existsSync(kctlMain)) throw new Error(`${kctlMain} is missing: run "npm run build" first`);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kctl(
  args: string[],
  opts: { config: string; input?: string; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [kctlMain, "--config", opts.config, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

export interface Background {
  child: ChildProcess;
  output(): string;
  /** Resolves when `pattern` appears in stdout/stderr; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export function kctlBackground(args: string[], opts: { config: string }): Background {
  const child = spawn(process.execPath, [kctlMain, "--config", opts.config, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    child,
    output: () => out,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out);
          if (m) {
            cleanup();
            resolve(m[0]);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then((code) => {
          if (listeners.has(check)) {
            cleanup();
            reject(new Error(`process exited (${code}) before ${pattern}; output:\n${out}`));
          }
        });
        check();
      });
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return child.exitCode;
    },
  };
}

/**
 * `kctl up` as the e2e tests run it: the control plane alone (no agent) on loopback, its API, node
 * service and DNS on free ports, its state in `stateDir`, with `flags` added.
 */
export function kctlUpLocal(stateDir: string, config: string, flags: readonly string[] = []): Background {
  return kctlBackground(
    [
      "up",
      "--state-dir",
      stateDir,
      "--port",
      "0",
      "--listen",
      "127.0.0.1",
      "--no-agent",
      "--dns-port",
      "0",
      ...flags,
    ],
    { config },
  );
}
