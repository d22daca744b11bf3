import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKctl } from "../testing/run-kctl.js";

describe("--registry-config on kctl join and kctl up", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-regflag-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("stops before anything starts, naming the flag, the file and the field", async () => {
    const bad = join(dir, "registries.yaml");
    await writeFile(bad, 'hosts:\n  "10.0.0.1:5000":\n    plainHttp: "yes"\n');
    const state = join(dir, "state");
    for (const argv of [
      ["join", "https://127.0.0.1:1", "--token", "abcdef.0123456789abcdef", "--ca-file", bad],
      ["up", "--port", "0"],
    ]) {
      const res = await runKctl([...argv, "--state-dir", state, "--registry-config", bad]);
      expect(res.code, argv[0]).toBe(1);
      expect(res.stderr).toBe(
        `error: --registry-config: ${bad}: hosts["10.0.0.1:5000"].plainHttp: must be true or false\n`,
      );
    }
    const missing = await runKctl(["up", "--state-dir", state, "--registry-config", join(dir, "none")]);
    expect(missing.stderr).toMatch(/^error: --registry-config: .*none: cannot read the registry config/);
  });
});
