/**
 * `kctl build` as a user runs it (in-process CLI, root): the base image pulled from a real
 * registry (Debian's docker-registry on 127.0.0.1), the result pushed back with --push and read
 * by skopeo, which verifies every digest.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SHIM } from "../../native/testing/oci-runtimes.js";
import { makeScratchDir, removeScratchDir } from "../../node-agent/network/testing/scratch-linux.js";
import { ImageStore } from "../../node-agent/runtime/images/index.js";
import type { RegistryServer } from "../../node-agent/runtime/registry/testing/registry-server.js";
import { runKctl } from "../testing/run-kctl.js";
import { startBaseRegistry } from "./testing/base-registry.js";

const run = promisify(execFile);
const canRun = process.getuid?.() === 0 && existsSync(SHIM);

describe.skipIf(!canRun)("kctl build with a registry (root)", () => {
  let scratch: string;
  let registry: RegistryServer;

  beforeAll(async () => {
    scratch = makeScratchDir("kctl-build-registry");
    ({ registry } = await startBaseRegistry(scratch));
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    if (scratch) removeScratchDir(scratch);
  });

  it("pulls FROM, builds, and pushes with --push; prints only the result when piped", async () => {
    const context = join(scratch, "context");
    await mkdir(context, { recursive: true });
    await writeFile(join(context, "index.html"), "hello\n");
    await writeFile(
      join(context, "Dockerfile"),
      `FROM ${registry.host}/base/busybox:1\nCOPY index.html /www/\nRUN chmod 444 /www/index.html\nCMD ["httpd", "-f", "-h", "/www"]\n`,
    );
    const ref = `${registry.host}/app/web:1`;
    const state = join(scratch, "state");
    const built = await runKctl(["build", "-t", ref, "--push", "--state-dir", state, context], {
      env: { SOURCE_DATE_EPOCH: "0" },
    });
    expect(built.stderr).toBe("");
    expect(built.code).toBe(0);
    const lines = built.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^image/${ref} built \\(sha256:[0-9a-f]{64}\\) in \\d+\\.\\ds$`));
    const digest = /\((sha256:[0-9a-f]{64})\)/.exec(lines[0]!)![1]!;
    expect(lines[1]).toBe(`image/${ref} pushed (${digest})`);
    const inspect = async (...args: string[]) =>
      JSON.parse((await run("skopeo", ["inspect", "--tls-verify=false", ...args, `docker://${ref}`])).stdout);
    expect((await inspect()).Digest).toBe(digest);
    expect((await inspect("--config")).config.Cmd).toEqual(["httpd", "-f", "-h", "/www"]);
    await run("skopeo", [
      "--insecure-policy",
      "copy",
      "--quiet",
      "--src-tls-verify=false",
      `docker://${ref}`,
      `oci:${join(scratch, "out")}:x`,
    ]);
  }, 300_000);

  it("prunes the cached steps and keeps the tagged image whole", async () => {
    const state = join(scratch, "state");
    const pruned = await runKctl(["build", "prune", "--state-dir", state]);
    expect(pruned.stderr).toBe("");
    expect(pruned.stdout).toBe("3 cached steps removed\n");
    const listed = await runKctl(["image", "list", "--state-dir", state]);
    expect(listed.stdout).not.toContain("kctl.build/cache");
    const store = new ImageStore(state);
    const image = await store.resolve(`${registry.host}/app/web:1`);
    expect(image.layers).toHaveLength(3);
  }, 120_000);

  it("fails with the line when the FROM image is in no registry", async () => {
    const context = join(scratch, "context-missing");
    await mkdir(context, { recursive: true });
    await writeFile(join(context, "Dockerfile"), `FROM ${registry.host}/base/nothing:1\n`);
    const r = await runKctl(["build", "-t", "local/x:1", "--state-dir", join(scratch, "state"), context]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^error: ${context}/Dockerfile:1: image ${registry.host}/base/nothing:1 is not in the store and cannot be pulled: `,
      ),
    );
  }, 120_000);
});
