import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "./testing/test-cluster.js";

// The built executable, as installed on PATH (`npm test` builds before running the tests).
const bin = join(import.meta.dirname, "../dist/kctl/main.js");

/** Runs the executable without blocking: the apiserver it talks to lives in this test process. */
function runBin(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...argv], { env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr })));
}

describe.runIf(existsSync(bin))("the kctl executable (dist/kctl/main.js)", () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("starts with a node shebang and exits 2 on a usage error, 0 on success", async () => {
    expect(readFileSync(bin, "utf8").split("\n")[0]).toBe("#!/usr/bin/env node");
    const bad = await runBin(["bogus"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe('error: unknown command "bogus" for "kctl"');
    const ok = await runBin(["get", "ns", "-o", "name"], { KCTL_CONFIG: cluster.configPath });
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toBe("namespace/default\nnamespace/kube-system\n");
    expect(ok.status).toBe(0);
  });

  it("get -w runs until SIGINT and then exits cleanly", async () => {
    const child = spawn(process.execPath, [bin, "get", "ns", "-w"], {
      env: { ...process.env, KCTL_CONFIG: cluster.configPath },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      for (let i = 0; i < 200 && !out.includes("kube-system"); i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(out).toMatch(/^NAME\s+STATUS\s+AGE\ndefault\s+Active/);
      child.kill("SIGINT");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
