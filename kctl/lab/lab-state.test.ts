import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { takeLabLock } from "./lab-lock.js";
import {
  DEFAULT_LABS_ROOT,
  type LabState,
  locateLabDir,
  readLabState,
  registerLab,
  stateFilePath,
  unregisterLab,
  writeLabState,
} from "./lab-state.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "kctl-lab-state-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sample(): LabState {
  return {
    version: 1,
    name: "t",
    labDir: dir,
    phase: "creating",
    createdAt: "2026-01-01T00:00:00Z",
    nodeCount: 1,
    components: "none",
    token: "x",
    nodes: [],
    cgroups: [],
    processes: [],
    ports: {},
  };
}

describe("lab state file", () => {
  it("round-trips and leaves no temporary file", async () => {
    const s = sample();
    await writeLabState(s);
    s.phase = "ready";
    await writeLabState(s);
    expect(await readLabState(dir)).toEqual(s);
    expect(await readdir(dir)).toEqual(["lab.json"]);
  });

  it("is absent without error, and a corrupt one is named", async () => {
    expect(await readLabState(dir)).toBeUndefined();
    await writeFile(stateFilePath(dir), "{nope");
    await expect(readLabState(dir)).rejects.toThrow(`${stateFilePath(dir)}: not a lab state file`);
    await writeFile(stateFilePath(dir), '{"version":7}');
    await expect(readLabState(dir)).rejects.toThrow("unknown format");
  });
});

describe("registry", () => {
  it("finds a lab's dir by name: flag first, then registry, then the default", async () => {
    const registryDir = join(dir, "reg");
    expect(await locateLabDir({ name: "t", registryDir })).toBe(join(DEFAULT_LABS_ROOT, "t"));
    await registerLab(registryDir, "t", "/somewhere/t");
    expect(await locateLabDir({ name: "t", registryDir })).toBe("/somewhere/t");
    expect(await locateLabDir({ name: "t", registryDir, labDir: "/flag" })).toBe("/flag");
    await unregisterLab(registryDir, "t");
    await unregisterLab(registryDir, "t");
    expect(await locateLabDir({ name: "t", registryDir })).toBe(join(DEFAULT_LABS_ROOT, "t"));
  });
});

describe("lab lock", () => {
  it("waits for a live holder, then says who holds it", async () => {
    const release = await takeLabLock(dir);
    await expect(takeLabLock(dir, 200)).rejects.toMatchObject({ code: "Busy" });
    await expect(takeLabLock(dir, 0)).rejects.toThrow(`pid ${process.pid}`);
    await release();
    // pid 2^22+1 is above the kernel's pid_max, so never a live process.
    await writeFile(join(dir, ".lock"), "4194305");
    const again = await takeLabLock(dir, 200);
    await again();
  });
});
