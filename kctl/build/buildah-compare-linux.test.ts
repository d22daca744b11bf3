/**
 * The peer comparison: the demo Dockerfile built by kctl build and by buildah (Debian's,
 * vfs storage, `--isolation chroot`: this host runs no container engine) from the same busybox
 * image in a real registry must give images with the same files (type, mode, owner, content,
 * link target; times differ) and the same config. Both images are unpacked by the same store.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SHIM } from "../../native/testing/oci-runtimes.js";
import { makeScratchDir, removeScratchDir } from "../../node-agent/network/testing/scratch-linux.js";
import { ImageStore } from "../../node-agent/runtime/images/index.js";
import type { RegistryServer } from "../../node-agent/runtime/registry/testing/registry-server.js";
import { build } from "./builder.js";
import { quietProgress } from "./progress-display.js";
import { startBaseRegistry } from "./testing/base-registry.js";
import { buildahBuild } from "./testing/buildah.js";
import { writeDemoContext } from "./testing/demo-context.js";

const run = promisify(execFile);
const canRun = process.getuid?.() === 0 && existsSync(SHIM) && existsSync("/usr/bin/buildah");

/** Every entry under `root`: path, type, mode, owner, and content digest or link target. */
async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = `${rel}/${name}`;
      const st = await lstat(join(root, path));
      const type = st.isDirectory() ? "dir" : st.isSymbolicLink() ? "link" : st.isFile() ? "file" : "other";
      const what = st.isSymbolicLink()
        ? await readlink(join(root, path))
        : st.isFile()
          ? createHash("sha256")
              .update(await readFile(join(root, path)))
              .digest("hex")
              .slice(0, 16)
          : "";
      out.push(`${path} ${type} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
      if (st.isDirectory()) await walk(path);
    }
  };
  await walk("");
  return out;
}

describe.skipIf(!canRun)("kctl build against buildah on one Dockerfile (root)", () => {
  let scratch: string;
  let registry: RegistryServer;

  beforeAll(async () => {
    scratch = makeScratchDir("kctl-build-buildah");
    ({ registry } = await startBaseRegistry(scratch));
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    if (scratch) removeScratchDir(scratch);
  });

  it("gives the same files and config", async () => {
    const context = join(scratch, "context");
    const dockerfile = await writeDemoContext(context, `${registry.host}/base/busybox:1`);
    const store = new ImageStore(join(scratch, "state"));
    await build({
      store,
      runtime: SHIM,
      dockerfile,
      file: "Dockerfile",
      context,
      tags: ["kctl.test/kctl:1"],
      buildArgs: new Map(),
      noCache: false,
      network: "none",
      pull: async (ref) => {
        await store.pull(ref);
      },
      progress: quietProgress,
    });
    const layout = join(scratch, "buildah-out");
    await buildahBuild({ work: join(scratch, "buildah"), context, out: layout });
    await store.importLayout(layout, { name: "kctl.test/buildah:1" });

    const configOf = async (ref: string) => {
      const c = ((await store.inspect(ref)).config as { config: Record<string, unknown> }).config;
      const labels = { ...(c.Labels as Record<string, string>) };
      // buildah's own stamp; the comparison is about what the Dockerfile says.
      delete labels["io.buildah.version"];
      return { ...c, Env: [...(c.Env as string[])].sort(), Labels: labels };
    };
    expect(await configOf("kctl.test/kctl:1")).toEqual(await configOf("kctl.test/buildah:1"));

    const files = async (ref: string) => {
      const rootfs = await store.prepareRootfs(`cmp-${ref.replace(/[^a-z0-9]/g, "-")}`, ref);
      try {
        return await tree(rootfs.path);
      } finally {
        await rootfs.release();
      }
    };
    const ours = await files("kctl.test/kctl:1");
    const theirs = await files("kctl.test/buildah:1");
    expect({
      onlyKctl: ours.filter((e) => !theirs.includes(e)),
      onlyBuildah: theirs.filter((e) => !ours.includes(e)),
    }).toEqual({ onlyKctl: [], onlyBuildah: [] });
    expect(ours.length).toBeGreaterThan(200);
    // Both really ran the Dockerfile: the file the first stage's RUN wrote is there.
    expect((await run("cat", [join(scratch, "context", "app", "name.txt")])).stdout).toBe("kctl\n");
  }, 600_000);
});
