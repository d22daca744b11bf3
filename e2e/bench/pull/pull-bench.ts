/**
 * `npm run bench:pull` (root): a cold pull of a generated image (5 layers of 20 MiB of random bytes,
 * so ~100 MiB that gzip cannot shrink) from Debian's docker-registry on 127.0.0.1 into a fresh image
 * store, against `skopeo copy docker://... oci:DIR` of the same image, alternating, RUNS times
 * each. The store's pull also unpacks every layer (skopeo's copy only writes blobs), so it reports
 * the download part (until the last layer is verified and stored) apart from the total. Writes
 * `.bench/pull.json`.
 *
 *   node dist/e2e/bench/pull/pull-bench.js [runs=5] [out=.bench/pull.json]
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { makeScratchDir, removeScratchDir } from "../../../node-agent/network/testing/scratch-linux.js";
import { ImageStore } from "../../../node-agent/runtime/images/image-store.js";
import {
  type RegistryServer,
  skopeoCopy,
  startRegistry,
} from "../../../node-agent/runtime/registry/testing/registry-server.js";
import { writeImageLayout } from "../../../node-agent/runtime/registry/testing/test-images.js";

const run = promisify(execFile);
const LAYERS = 5;
const LAYER_BYTES = 20 << 20;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return Math.round((s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2) * 10) / 10;
};

async function storePull(
  scratch: string,
  ref: string,
  i: number,
): Promise<{ totalMs: number; downloadMs: number }> {
  const dir = join(scratch, `store-${i}`);
  const store = new ImageStore(dir);
  let lastDone = 0;
  const t0 = performance.now();
  await store.pull(ref, {
    onProgress: (e) => {
      if (e.state === "done") lastDone = performance.now();
    },
  });
  const totalMs = performance.now() - t0;
  await rm(dir, { recursive: true, force: true });
  return { totalMs, downloadMs: lastDone - t0 };
}

async function skopeoPull(scratch: string, ref: string, i: number): Promise<number> {
  const dir = join(scratch, `skopeo-${i}`);
  const t0 = performance.now();
  await run("skopeo", [
    "--insecure-policy",
    "copy",
    "--quiet",
    "--src-tls-verify=false",
    `docker://${ref}`,
    `oci:${dir}:x`,
  ]);
  const ms = performance.now() - t0;
  await rm(dir, { recursive: true, force: true });
  return ms;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  const out = process.argv[3] ?? ".bench/pull.json";
  const scratch = makeScratchDir("kctl-pull-bench");
  let registry: RegistryServer | undefined;
  try {
    registry = await startRegistry({ dir: join(scratch, "registry") });
    const layout = join(scratch, "layout");
    const layers = Array.from({ length: LAYERS }, (_, i) => ({ [`data/${i}`]: randomBytes(LAYER_BYTES) }));
    const built = writeImageLayout(layout, "bench", { layers });
    const ref = `${registry.host}/bench/random:1`;
    await skopeoCopy(layout, "bench", ref);
    const imageBytes = built.layers.reduce((n, l) => n + l.size, built.config.size);

    const store: { totalMs: number; downloadMs: number }[] = [];
    const skopeo: number[] = [];
    for (let i = 0; i < runs; i++) {
      // Alternating, and the order swapped every run, so neither always runs on a warmer cache.
      if (i % 2 === 0) {
        store.push(await storePull(scratch, ref, i));
        skopeo.push(await skopeoPull(scratch, ref, i));
      } else {
        skopeo.push(await skopeoPull(scratch, ref, i));
        store.push(await storePull(scratch, ref, i));
      }
      console.log(
        `run ${i + 1}/${runs}: store ${store[i]!.totalMs.toFixed(0)} ms (download ${store[i]!.downloadMs.toFixed(0)} ms), skopeo ${skopeo[i]!.toFixed(0)} ms`,
      );
    }
    const result = {
      image: { layers: LAYERS, layerBytes: LAYER_BYTES, compressedBytes: imageBytes },
      runs,
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown" },
      storePullMs: {
        median: median(store.map((s) => s.totalMs)),
        all: store.map((s) => Math.round(s.totalMs)),
      },
      storeDownloadMs: { median: median(store.map((s) => s.downloadMs)) },
      skopeoCopyMs: { median: median(skopeo), all: skopeo.map(Math.round) },
      ratio: Math.round((median(store.map((s) => s.totalMs)) / median(skopeo)) * 100) / 100,
      downloadRatio: Math.round((median(store.map((s) => s.downloadMs)) / median(skopeo)) * 100) / 100,
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
