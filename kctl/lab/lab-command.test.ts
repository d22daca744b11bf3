/** The `kctl lab` command line: its usage errors, and one network-only lab up/exec/status/down. */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { realClock } from "../../foundation/util/clock.js";
import { parseCommandLine } from "../args.js";
import { labCommand } from "../commands/lab.js";
import { labDown } from "./lab-down.js";

async function runLab(argv: string[]): Promise<{ code: number; stdout: string; error?: Error }> {
  let stdout = "";
  try {
    const parsed = await parseCommandLine(
      argv,
      new Map([["lab", { name: "lab" }]]),
      [],
      async () => labCommand.flags,
    );
    const code = await labCommand.run({
      io: {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: () => undefined },
        stdin: Readable.from([]),
        env: {},
        cwd: process.cwd(),
        clock: realClock,
        signal: new AbortController().signal,
      },
      positionals: parsed.positionals,
      flags: parsed.flags,
      configPath: "/nonexistent",
      connect: () => Promise.reject(new Error("kctl lab never connects")),
    });
    return { code, stdout };
  } catch (error) {
    return { code: -1, stdout, error: error as Error };
  }
}

const name = `c${(process.pid % 100000).toString(36)}`;
let labDir: string | undefined;

afterAll(async () => {
  if (labDir) {
    await labDown({ name, labDir });
    await rm(labDir, { recursive: true, force: true });
  }
});

describe("kctl lab", () => {
  it.each([
    [["lab"], "kctl lab needs a subcommand: up, down, exec or status"],
    [["lab", "sideways"], 'unknown lab subcommand "sideways"'],
    [["lab", "up"], "--nodes is required"],
    [["lab", "up", "--nodes", "2", "extra"], 'unexpected argument "extra"'],
    [["lab", "up", "--nodes", "0"], "--nodes: must be a whole number from 1 to 200, got 0"],
    [["lab", "up", "--nodes", "1", "--name", "No!"], '--name: "No!" is not a valid lab name'],
    [["lab", "up", "--nodes", "1", "--components", "some"], 'invalid argument "some" for "--components"'],
    [["lab", "up", "--nodes", "1", "--timeout", "0"], "--timeout must be a positive number"],
    [["lab", "up", "--nodes", "3", "--subnets", "9"], "--subnets: must be a whole number from 1 to 8, got 9"],
    [
      ["lab", "up", "--nodes", "1", "--subnets", "2"],
      "--subnets: 2 subnets for 1 hosts would leave a subnet empty",
    ],
    [["lab", "exec"], "kctl lab exec needs a node and a command"],
  ])("%j fails with a usage error", async (argv, message) => {
    const r = await runLab(argv);
    expect(r.error?.name).toBe("UsageError");
    expect(r.error?.message).toContain(message);
  });

  it("brings up a network-only lab, runs a command on a host, lists and removes it", async () => {
    labDir = await mkdtemp(join(tmpdir(), "kctl-lab-cmd-"));
    const up = await runLab([
      "lab",
      "up",
      "--name",
      name,
      "--nodes",
      "2",
      "--components",
      "none",
      "--state-dir",
      labDir,
    ]);
    expect(up.error).toBeUndefined();
    expect(up.stdout).toMatch(new RegExp(`lab ${name} is up: subnet 10\\.\\d+\\.0\\.0/24`));
    expect(up.stdout).toMatch(/node2 {2}10\.\d+\.0\.12/);
    const exec = await runLab([
      "lab",
      "exec",
      "--name",
      name,
      "--state-dir",
      labDir,
      "node2",
      "--",
      "sh",
      "-c",
      "exit 3",
    ]);
    expect(exec.code).toBe(3);
    const again = await runLab(["lab", "up", "--name", name, "--nodes", "1", "--state-dir", labDir]);
    expect(again.error?.message).toContain(`lab ${name} already exists`);
    const down = await runLab(["lab", "down", "--name", name, "--state-dir", labDir]);
    expect(down.stdout).toBe(`lab ${name} removed\n`);
    const missing = await runLab([
      "lab",
      "exec",
      "--name",
      name,
      "--state-dir",
      labDir,
      "node1",
      "--",
      "true",
    ]);
    expect(missing.error?.message).toContain(`lab ${name} does not exist`);
  });
});
