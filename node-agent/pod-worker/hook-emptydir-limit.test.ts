import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { emptyDirLimitHook } from "./hook-emptydir-limit.js";
import { fakeRun, podOf } from "./testing/fake-pod-run.js";

describe("emptyDir limit hook", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "emptydir-limit-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("evicts the pod once a disk-backed emptyDir holds more than its sizeLimit, checking every 10 s", async () => {
    const run = fakeRun(
      podOf({
        containers: [{ name: "main" }],
        volumes: [{ name: "scratch", emptyDir: { sizeLimit: "256Ki" } }],
      }),
    );
    run.volumePaths = new Map([["scratch", { path: dir, readOnly: false }]]);
    const hook = emptyDirLimitHook();
    expect(await hook.prerun!(run)).toBeUndefined();
    await writeFile(join(dir, "fill"), Buffer.alloc(512 << 10, 1));
    run.clock.advance(9_999);
    expect(await hook.prerun!(run)).toBeUndefined();
    run.clock.advance(1);
    const message = 'Usage of EmptyDir volume "scratch" exceeds the limit "256Ki". ';
    expect(await hook.prerun!(run)).toEqual({ fail: { reason: "Evicted", message } });
    expect(run.events).toEqual([`Warning Evicted: ${message}`]);
  });
});
