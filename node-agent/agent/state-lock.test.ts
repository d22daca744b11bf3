import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentStateBusyError, lockAgentState } from "./state-lock.js";

describe("lockAgentState", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-state-lock-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("refuses a second agent on the same state dir, naming the holder, until the first releases it", async () => {
    const release = await lockAgentState(dir);
    const second = lockAgentState(dir);
    await expect(second).rejects.toBeInstanceOf(AgentStateBusyError);
    await expect(second).rejects.toThrow(
      `another node agent (pid ${process.pid}) is running with state dir ${dir}`,
    );
    await release();
    await (await lockAgentState(dir))();
  });

  it("takes over the lock of an agent that died without releasing it", async () => {
    // pid 2^22+1 is above the kernel's pid_max, so never a live process.
    await writeFile(join(dir, "agent.lock"), "4194305");
    await (await lockAgentState(dir))();
  });

  it("makes the state dir of an agent's first start", async () => {
    await (await lockAgentState(join(dir, "new", "agent")))();
  });
});
