import { describe, expect, it } from "vitest";
import { type HookTarget, runHook } from "./lifecycle-hooks.js";

function target(exitCode = 0) {
  const calls = { sleeps: [] as number[], execs: [] as { command: string[]; timeoutMs: number }[] };
  const t: HookTarget = {
    podIP: "127.0.0.1",
    container: { name: "main" },
    exec: async (command, timeoutMs) => {
      calls.execs.push({ command, timeoutMs });
      return exitCode;
    },
    sleep: async (ms) => {
      calls.sleeps.push(ms);
    },
  };
  return { t, calls };
}

describe("runHook", () => {
  it("sleeps for the hook's seconds, cut short at the budget", async () => {
    const { t, calls } = target();
    expect(await runHook({ sleep: { seconds: 3 } }, t, 10_000)).toEqual({ ok: true });
    expect(await runHook({ sleep: { seconds: 30 } }, t, 2_500)).toEqual({ ok: true });
    expect(calls.sleeps).toEqual([3_000, 2_500]);
  });

  it("runs an exec hook with the budget as its timeout and reports a failing command", async () => {
    const { t, calls } = target(2);
    expect(await runHook({ exec: { command: ["false"] } }, t, 4_200)).toEqual({
      ok: false,
      message: "command exited with 2",
    });
    expect(calls.execs).toEqual([{ command: ["false"], timeoutMs: 5_000 }]);
  });
});
