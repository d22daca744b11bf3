/**
 * The command-runner helper (native/tools/command-runner.c) through its client: concurrent
 * requests answered as they end, timeouts, output that must survive the line protocol, a helper
 * killed under a request, and nothing left behind (zombies, descriptors) after many requests.
 * Needs the native build, not root.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { CommandRunner, CommandRunnerError } from "./command-runner.js";
import { nativeBuildPath } from "./native-build.js";

const binary = nativeBuildPath("command-runner");

/** Pids of `pid`'s children, zombies included. */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return text ? text.split(" ").map(Number) : [];
}

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

describe.skipIf(!existsSync(binary))("CommandRunner", () => {
  let runner: CommandRunner;
  afterEach(() => {
    const pid = runner?.helperPid;
    if (pid) process.kill(pid, "SIGKILL");
  });

  it("answers a fast request before a slow one sent first", async () => {
    runner = new CommandRunner(binary);
    const order: string[] = [];
    const slow = runner.run(["sh", "-c", "sleep 0.6; echo slow"], 5_000).then((r) => order.push(r.stdout));
    const fast = runner.run(["echo", "fast"], 5_000).then((r) => order.push(r.stdout));
    await Promise.all([slow, fast]);
    expect(order).toEqual(["fast\n", "slow\n"]);
  });

  it("kills a program at its timeout and says so", async () => {
    runner = new CommandRunner(binary);
    const started = Date.now();
    const r = await runner.run(["sh", "-c", "echo partial; exec sleep 30"], 300);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r).toEqual({ exitCode: 137, timedOut: true, stdout: "partial\n", stderr: "" });
    const done = await runner.run(["sh", "-c", "exit 4"], 300);
    expect(done).toMatchObject({ exitCode: 4, timedOut: false });
  });

  it("returns output with tabs, line breaks, backslashes and control bytes as written", async () => {
    runner = new CommandRunner(binary);
    // Arguments cannot hold tabs or line breaks (they would split the request): printf makes them.
    const r = await runner.run(["printf", "a\\tb\\nc\\\\d\\r\\001é\\n"], 5_000);
    expect(r.stdout).toBe("a\tb\nc\\d\r\u0001é\n");
    const err = await runner.run(["sh", "-c", "printf 'x\\ty' >&2; kill -9 $$"], 5_000);
    expect(err).toEqual({ exitCode: 137, timedOut: false, stdout: "", stderr: "x\ty" });
  });

  it("cuts large output to one answer, marked with the size written", async () => {
    runner = new CommandRunner(binary);
    const r = await runner.run(
      ["sh", "-c", "yes \"$(printf 'a\\tb')\" | head -c 100000; echo oops >&2"],
      5_000,
    );
    expect(r.stdout).toMatch(/^(a\tb\n)+[a\tb]*\[\.\.\. 100000 bytes in all\]$/);
    expect(r.stderr).toBe("oops\n");
    // Both streams share the answer's 4 KiB, the escapes counted.
    expect(r.stdout.length).toBeGreaterThan(1_000);
    expect(r.stdout.length).toBeLessThan(4_096);
  });

  it("gives the program /dev/null as stdin and no descriptor of its own", async () => {
    runner = new CommandRunner(binary);
    const r = await runner.run(["sh", "-c", "cat; ls /proc/self/fd"], 5_000);
    // 0 to 2, and 3: ls's own directory.
    expect(r.stdout.trim().split("\n").sort()).toEqual(["0", "1", "2", "3"]);
  });

  it("fails a program that cannot run, naming it, and runs the next", async () => {
    runner = new CommandRunner(binary);
    await expect(runner.run(["/nonexistent/prog", "x"], 5_000)).rejects.toThrow(
      new CommandRunnerError("/nonexistent/prog x", "exec /nonexistent/prog: No such file or directory"),
    );
    expect((await runner.run(["true"], 5_000)).exitCode).toBe(0);
  });

  it("fails the requests of a helper killed under them, and the next request starts a new one", async () => {
    runner = new CommandRunner(binary);
    await runner.run(["true"], 5_000);
    const first = runner.helperPid!;
    const pending = runner.run(["sleep", "30"], 60_000);
    const other = runner.run(["sleep", "31"], 60_000);
    await new Promise((r) => setTimeout(r, 200));
    process.kill(first, "SIGKILL");
    await expect(pending).rejects.toThrow("sleep 30: helper ended: killed by SIGKILL");
    await expect(other).rejects.toThrow(CommandRunnerError);
    expect((await runner.run(["echo", "again"], 5_000)).stdout).toBe("again\n");
    expect(runner.helperPid).not.toBe(first);
    // Its workers and their programs died with it.
    await new Promise((r) => setTimeout(r, 200));
    const sleeps = readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, "utf8") === "sleep\x0030\x00";
        } catch {
          return false;
        }
      });
    expect(sleeps).toEqual([]);
  });

  it("leaves no zombie and no descriptor behind after many requests", async () => {
    runner = new CommandRunner(binary);
    await runner.run(["true"], 5_000);
    const pid = runner.helperPid!;
    const fds = fdCount(pid);
    for (let round = 0; round < 10; round++) {
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          runner.run(["sh", "-c", `echo ${i}; echo e >&2; exit ${i % 3}`], 5_000),
        ),
      );
      expect(results.map((r) => r.exitCode)).toEqual(Array.from({ length: 30 }, (_, i) => i % 3));
    }
    // Workers are reaped on SIGCHLD, a moment after they answered.
    for (let i = 0; i < 50 && childrenOf(pid).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(childrenOf(pid)).toEqual([]);
    expect(fdCount(pid)).toBe(fds);
    expect(runner.helperPid).toBe(pid);
  });
});
