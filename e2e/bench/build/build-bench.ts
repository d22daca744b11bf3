/**
 * `npm run bench:build` (root): build time of the demo Dockerfile (testing/demo-context.ts) by
 * kctl build and by buildah (vfs, --isolation chroot, --layers) in the same run, alternating with
 * the order swapped every run, RUNS times each: cold (every step run: `--no-cache`, the base image
 * already in each one's storage) and fully cached (nothing changed since the last build). kctl
 * build is timed in-process (`build()`) and as the CLI process (`node dist/kctl/main.js build`),
 * since buildah's figures include its process start. Writes `.bench/build.json`.
 *
 *   node dist/e2e/bench/build/build-bench.js [runs=5] [out=.bench/build.json]
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "../../../kctl/build/builder.js";
import { quietProgress } from "../../../kctl/build/progress-display.js";
import { startBaseRegistry } from "../../../kctl/build/testing/base-registry.js";
import { buildahBuild } from "../../../kctl/build/testing/buildah.js";
import { writeDemoContext } from "../../../kctl/build/testing/demo-context.js";
import { makeScratchDir, removeScratchDir } from "../../../node-agent/network/testing/scratch-linux.js";
import { ImageStore } from "../../../node-agent/runtime/images/index.js";
import type { RegistryServer } from "../../../node-agent/runtime/registry/testing/registry-server.js";
import { nativeBuildPath } from "../../../node-agent/util/native-build.js";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../../../kctl/main.js", import.meta.url));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return Math.round((s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2) * 10) / 10;
};

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  const out = process.argv[3] ?? ".bench/build.json";
  const scratch = makeScratchDir("kctl-build-bench");
  let registry: RegistryServer | undefined;
  try {
    const seeded = await startBaseRegistry(scratch);
    registry = seeded.registry;
    const base = seeded.base;
    const context = join(scratch, "context");
    const dockerfile = await writeDemoContext(context, base);
    const stateDir = join(scratch, "state");
    const store = new ImageStore(stateDir);
    const library = (noCache: boolean) =>
      timed(() =>
        build({
          store,
          runtime: nativeBuildPath("kshim"),
          dockerfile,
          file: "Dockerfile",
          context,
          tags: ["kctl.bench/demo:1"],
          buildArgs: new Map(),
          noCache,
          network: "none",
          pull: async (ref) => {
            await store.pull(ref);
          },
          progress: quietProgress,
        }),
      );
    const cli = (noCache: boolean) =>
      timed(() =>
        run(process.execPath, [
          MAIN,
          "build",
          "-q",
          "-t",
          "kctl.bench/demo:1",
          "--network",
          "none",
          "--state-dir",
          stateDir,
          ...(noCache ? ["--no-cache"] : []),
          context,
        ]),
      );
    const buildah = (noCache: boolean) =>
      timed(() => buildahBuild({ work: join(scratch, "buildah"), context, noCache }));
    // Warm-up, not timed: each pulls the base image into its own storage.
    await library(false);
    await buildah(false);

    const rows = {
      kctlBuildCold: [] as number[],
      kctlCliCold: [] as number[],
      buildahCold: [] as number[],
      kctlBuildCached: [] as number[],
      kctlCliCached: [] as number[],
      buildahCached: [] as number[],
    };
    for (let i = 0; i < runs; i++) {
      const ours = async () => {
        rows.kctlBuildCold.push(await library(true));
        rows.kctlBuildCached.push(await library(false));
        rows.kctlCliCold.push(await cli(true));
        rows.kctlCliCached.push(await cli(false));
      };
      const theirs = async () => {
        rows.buildahCold.push(await buildah(true));
        rows.buildahCached.push(await buildah(false));
      };
      if (i % 2 === 0) {
        await ours();
        await theirs();
      } else {
        await theirs();
        await ours();
      }
      console.log(
        `run ${i + 1}/${runs}: ${Object.entries(rows)
          .map(([k, v]) => `${k} ${v[i]!.toFixed(0)} ms`)
          .join(", ")} (load ${loadavg()[0]!.toFixed(1)})`,
      );
    }
    const medians = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)]));
    const result = {
      runs,
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown", loadAverage: loadavg() },
      medianMs: medians,
      allMs: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.map(Math.round)])),
      ratios: {
        coldLibraryVsBuildah: Math.round((medians.kctlBuildCold! / medians.buildahCold!) * 100) / 100,
        coldCliVsBuildah: Math.round((medians.kctlCliCold! / medians.buildahCold!) * 100) / 100,
        cachedLibraryVsBuildah: Math.round((medians.kctlBuildCached! / medians.buildahCached!) * 100) / 100,
        cachedCliVsBuildah: Math.round((medians.kctlCliCached! / medians.buildahCached!) * 100) / 100,
      },
    };
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await registry?.stop();
    removeScratchDir(scratch);
  }
}

await main();
