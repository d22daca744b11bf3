/**
 * Benchmark of the image store: import of the busybox layout, then N container root filesystems
 * prepared and released one at a time (latency p50/p99), on the real overlayfs. Writes JSON to the
 * output file; run as root:
 *
 *   node dist/node-agent/runtime/images/testing/rootfs-bench.js [containers=50] [out=rootfs-bench.json]
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeScratchDir, removeScratchDir } from "../../../network/testing/scratch-linux.js";
import { buildBusyboxImage } from "../busybox-image.js";
import { ImageStore } from "../image-store.js";

function summary(ms: number[]): { p50: number; p99: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) =>
    Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! * 100) / 100;
  return { p50: at(50), p99: at(99), max: at(100) };
}

async function main(): Promise<void> {
  const containers = Number(process.argv[2] ?? 50);
  const out = process.argv[3] ?? "rootfs-bench.json";
  const scratch = makeScratchDir("kctl-rootfs-bench");
  try {
    const layout = join(scratch, "busybox");
    await buildBusyboxImage(layout);
    const store = new ImageStore(join(scratch, "state"));
    let t = performance.now();
    await store.importLayout(layout);
    const importMs = performance.now() - t;
    t = performance.now();
    await store.resolve("busybox");
    const resolveMs = performance.now() - t;
    const prepare: number[] = [];
    const release: number[] = [];
    for (let i = 0; i < containers; i++) {
      t = performance.now();
      const rootfs = await store.prepareRootfs(`bench-${i}`, "busybox");
      prepare.push(performance.now() - t);
      t = performance.now();
      await rootfs.release();
      release.push(performance.now() - t);
    }
    const result = {
      containers,
      importBusyboxMs: Math.round(importMs),
      resolveMs: Math.round(resolveMs * 100) / 100,
      prepareMs: summary(prepare),
      releaseMs: summary(release),
    };
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    removeScratchDir(scratch);
  }
}

await main();
