/**
 * `npm run bench:pull`, second part (root): create → Running of a pod whose image is not on the
 * node, against the same pod once the image is there. A one-host lab (control plane, agent, and the
 * lab registry at its gateway); RUNS images pushed there beforehand with skopeo, each with layers of
 * its own (busybox-static with a unique id file, and PAYLOAD_MIB of random bytes), so every first
 * pod pulls a whole image. Each run creates a pod of image i (pulled), deletes it, then creates one
 * of the same image (present), alternating. Where the time goes: the `Pulled` event's duration for
 * each pulled pod. Writes `.bench/pod-pull.json`.
 *
 *   node dist/node-agent/runtime/registry/bench/pod-pull-bench.js [runs=20] [out=.bench/pod-pull.json]
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import type { KubeObject } from "../../../foundation/api/object.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import { ApiClient } from "../../../kctl/client.js";
import { readConfig } from "../../../kctl/config.js";
import { skopeoCopy } from "../../../node-agent/runtime/registry/testing/registry-server.js";
import { writeImageLayout } from "../../../node-agent/runtime/registry/testing/test-images.js";
import { withBenchLab } from "../support/bench-lab.js";

const pods = resourceForKind("v1", "Pod")!;
const events = resourceForKind("v1", "Event")!;
const namespaces = resourceForKind("v1", "Namespace")!;
const PAYLOAD_MIB = 8;

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
const summary = (xs: number[]) => ({
  p50: Math.round(quantile(xs, 0.5)),
  p99: Math.round(quantile(xs, 0.99)),
  runs: xs.map(Math.round),
});

function podManifest(name: string, image: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "bench" },
    spec: {
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      containers: [
        { name: "main", image, imagePullPolicy: "IfNotPresent", command: ["/bin/busybox", "sleep", "3600"] },
      ],
    },
  };
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 20);
  const out = process.argv[3] ?? join(".bench", "pod-pull.json");
  await withBenchLab({ name: "podpull", hosts: 1 }, async ({ state, clientConfig, dir }) => {
    const registry = state.registry!;
    const busybox = readFileSync("/bin/busybox");
    let imageBytes = 0;
    for (let i = 0; i < runs; i++) {
      const layout = join(dir, `image-${i}`);
      const built = writeImageLayout(layout, "v1", {
        layers: [
          { "bin/busybox": { data: busybox, mode: 0o755 }, "etc/bench-id": `${i}\n` },
          { "opt/payload": randomBytes(PAYLOAD_MIB << 20) },
        ],
      });
      imageBytes = built.layers.reduce((n, l) => n + l.size, 0);
      await skopeoCopy(layout, "v1", `${registry}/bench/app-${i}:v1`);
      await rm(layout, { recursive: true, force: true });
    }
    const client = new ApiClient(await readConfig(clientConfig));
    await client.create(namespaces, undefined, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "bench" },
    });
    // The namespace's default account is made by a controller; a pod admitted before it waits.
    await new Promise((r) => setTimeout(r, 2000));

    const toRunning = async (name: string, image: string): Promise<number> => {
      const t0 = performance.now();
      await client.create(pods, "bench", podManifest(name, image));
      const deadline = t0 + 180_000;
      for (;;) {
        const pod = (await client.get(pods, "bench", name)) as KubeObject & { status?: { phase?: string } };
        if (pod.status?.phase === "Running") break;
        if (performance.now() > deadline) throw new Error(`pod ${name} not Running within 180 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const ms = performance.now() - t0;
      await client.delete(pods, "bench", name, { gracePeriodSeconds: 0 });
      return ms;
    };

    const absent: number[] = [];
    const present: number[] = [];
    for (let i = 0; i < runs; i++) {
      const image = `${registry}/bench/app-${i}:v1`;
      absent.push(await toRunning(`absent-${i}`, image));
      present.push(await toRunning(`present-${i}`, image));
    }
    // "Successfully pulled image "R" in 1.234s. Downloaded N bytes." per pulled pod.
    const list = (await client.list(events, "bench")) as { items: { reason?: string; message?: string }[] };
    const pullMs = list.items
      .filter((e) => e.reason === "Pulled")
      .map((e) => /in ([0-9.]+)s\./.exec(e.message ?? "")?.[1])
      .filter((s): s is string => s !== undefined)
      .map((s) => Number(s) * 1000);
    client.close();

    const result = {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model,
        loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
      },
      image: { layers: 2, compressedBytes: imageBytes },
      runs,
      createToRunningMs: { imageAbsent: summary(absent), imagePresent: summary(present) },
      pullMs: summary(pullMs),
    };
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  });
  process.exit(0);
}

await main();
