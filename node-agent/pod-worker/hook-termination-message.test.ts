import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Container } from "../../proto/gen/api.js";
import { terminationMessageHook } from "./hook-termination-message.js";
import { fakeRun, podOf, setupOf } from "./testing/fake-pod-run.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "termination-message-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An attempt of `spec` through prestart; `exit` ends it with `exitCode`, as the worker would. */
async function attemptOf(spec: Container) {
  const run = fakeRun(podOf({ containers: [spec] }), {}, dir);
  const hook = terminationMessageHook();
  const a = setupOf(run, spec);
  await hook.prestart!(run, a);
  const exit = async (exitCode: number) => {
    a.rec.exit = { exitCode, signal: 0, reason: "Error", startedAt: "", finishedAt: "", containerID: "" };
    await hook.exited!(run, a);
    return a.rec.exit.message;
  };
  return { run, hook, a, exit, file: a.mounts[0]!.source };
}

describe("termination message hook", () => {
  it("mounts an empty file of the attempt's own at /dev/termination-log, or terminationMessagePath", async () => {
    const plain = await attemptOf({ name: "main" });
    expect(plain.a.mounts).toEqual([
      { source: join(dir, "termination", plain.a.id), destination: "/dev/termination-log" },
    ]);
    expect(await readFile(plain.file, "utf8")).toBe("");
    expect((await stat(plain.file)).mode & 0o777).toBe(0o666);
    const custom = await attemptOf({ name: "main", terminationMessagePath: "/tmp/why" });
    expect(custom.a.mounts[0]!.destination).toBe("/tmp/why");
  });

  it("reads what the container wrote into terminated.message, its last 4096 bytes at most", async () => {
    const t = await attemptOf({ name: "main" });
    await writeFile(t.file, "bye\n");
    expect(await t.exit(0)).toBe("bye\n");
    await writeFile(t.file, `${"a".repeat(5000)}END`);
    const long = await t.exit(0);
    expect(long).toHaveLength(4096);
    expect(long?.endsWith("aEND")).toBe(true);
  });

  it("with FallbackToLogsOnError, gives a failed container that wrote nothing the tail of its log", async () => {
    const t = await attemptOf({ name: "main", terminationMessagePolicy: "FallbackToLogsOnError" });
    const log = join(dir, "0.log");
    const lines = Array.from({ length: 100 }, (_, i) => `2026-01-01T00:00:00.000000000Z stdout F line ${i}`);
    await writeFile(log, `${lines.join("\n")}\n`);
    t.a.rec.logPath = log;
    expect(await t.exit(0)).toBeUndefined();
    const message = await t.exit(2);
    expect(message?.split("\n").filter(Boolean)).toHaveLength(80);
    expect(message?.endsWith("line 99\n")).toBe(true);
    await writeFile(t.file, "own words");
    expect(await t.exit(2)).toBe("own words");
  });

  it("keeps logs out of the message under the default policy", async () => {
    const t = await attemptOf({ name: "main" });
    const log = join(dir, "0.log");
    await writeFile(log, "2026-01-01T00:00:00.000000000Z stdout F oops\n");
    t.a.rec.logPath = log;
    expect(await t.exit(1)).toBeUndefined();
  });

  it("removes the attempt's file when the attempt goes, and copes with one never made", async () => {
    const t = await attemptOf({ name: "main" });
    await t.hook.poststop!(t.run, t.a);
    await expect(stat(t.file)).rejects.toThrow();
    await t.hook.poststop!(t.run, t.a);
  });
});
