import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resetNode } from "./node-reset.js";

describe("resetNode's guard on --state-dir", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-reset-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("refuses a directory that is not an agent's state, removing nothing", async () => {
    await mkdir(join(dir, "important"));
    await writeFile(join(dir, "notes.txt"), "keep me");
    await expect(resetNode({ stateDir: dir, report: () => undefined })).rejects.toThrow(
      `--state-dir ${dir}: not a node agent's state dir`,
    );
    expect((await readdir(dir)).sort()).toEqual(["important", "notes.txt"]);
  });

  it("refuses the root directory", async () => {
    await expect(resetNode({ stateDir: "/", report: () => undefined })).rejects.toThrow(
      "--state-dir /: not a node agent's state dir",
    );
  });
});
