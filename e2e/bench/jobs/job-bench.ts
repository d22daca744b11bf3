/**
 * Job throughput benchmark (a script, not a test; needs root). A three-host lab (real control
 * plane, real agents, kshim, the busybox image); first the pod-startup figure of this same lab:
 * `pods` single pods running `true` (restartPolicy Never) created one at a time, timed from create
 * to Succeeded; then one Job of `completions` completions of `true` at `parallelism`, timed from
 * create to its Complete condition, reported as completions per second. Prints the result and
 * writes it to bench/results/<hostname>.json beside this file's source (and .bench/jobs.json).
 *
 *   npm run bench:jobs [-- completions=1000 parallelism=50 pods=20]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, hostname } from "node:os";
import { join } from "node:path";
import type { KubeObject } from "../../../foundation/api/object.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import { ApiClient } from "../../../kctl/client.js";
import { readConfig } from "../../../kctl/config.js";
import { withBenchLab } from "../support/bench-lab.js";

const pods = resourceForKind("v1", "Pod")!;
const jobs = resourceForKind("batch/v1", "Job")!;
const namespaces = resourceForKind("v1", "Namespace")!;
const image = "kctl.local/busybox:debian";
const resultsDir = join(import.meta.dirname, "../../../../e2e/bench/jobs/results");

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
const round = (x: number) => Math.round(x * 10) / 10;

function args(): { completions: number; parallelism: number; pods: number } {
  const given = new Map(process.argv.slice(2).map((a) => a.split("=") as [string, string]));
  return {
    completions: Number(given.get("completions") ?? 1000),
    parallelism: Number(given.get("parallelism") ?? 50),
    pods: Number(given.get("pods") ?? 20),
  };
}

const container = { name: "main", image, command: ["true"] };

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(): Promise<void> {
  const opts = args();
  await withBenchLab({ name: "jobs", hosts: 3 }, async ({ clientConfig }) => {
    const client = new ApiClient(await readConfig(clientConfig));
    await client.create(namespaces, undefined, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "bench" },
    });

    // Pod startup on this lab: create → Succeeded of one `true` pod at a time.
    const podMs: number[] = [];
    for (let i = 0; i < opts.pods; i++) {
      const name = `one-${i}`;
      const start = performance.now();
      await client.create(pods, "bench", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: "bench" },
        spec: { restartPolicy: "Never", terminationGracePeriodSeconds: 0, containers: [container] },
      } as KubeObject);
      await waitFor(
        name,
        async () =>
          ((await client.get(pods, "bench", name)) as { status?: { phase?: string } }).status?.phase ===
          "Succeeded",
        120_000,
      );
      podMs.push(performance.now() - start);
      await client.delete(pods, "bench", name);
    }

    const start = performance.now();
    await client.create(jobs, "bench", {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "many", namespace: "bench" },
      spec: {
        completions: opts.completions,
        parallelism: opts.parallelism,
        template: {
          spec: { restartPolicy: "Never", terminationGracePeriodSeconds: 0, containers: [container] },
        },
      },
    } as KubeObject);
    let succeeded = 0;
    let lastReport = 0;
    await waitFor(
      "job many Complete",
      async () => {
        const j = (await client.get(jobs, "bench", "many")) as {
          status?: { succeeded?: number; conditions?: { type: string; status: string }[] };
        };
        if (
          (j.status?.succeeded ?? 0) !== succeeded &&
          Math.floor(performance.now() / 30_000) !== lastReport
        ) {
          lastReport = Math.floor(performance.now() / 30_000);
          const s = Math.round((performance.now() - start) / 1000);
          process.stderr.write(`${s}s: ${j.status?.succeeded ?? 0}/${opts.completions} succeeded\n`);
        }
        succeeded = j.status?.succeeded ?? 0;
        return j.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True") ?? false;
      },
      3_600_000,
    );
    const jobSeconds = (performance.now() - start) / 1000;
    client.close();

    const result = {
      date: new Date().toISOString(),
      machine: { hostname: hostname(), cpus: cpus().length, model: cpus()[0]?.model ?? "" },
      lab: { hosts: 3 },
      podStartup: {
        pods: opts.pods,
        createToSucceededMs: { p50: round(quantile(podMs, 0.5)), p99: round(quantile(podMs, 0.99)) },
        podsPerSecondOneAtATime: round(1000 / quantile(podMs, 0.5)),
      },
      job: {
        completions: opts.completions,
        parallelism: opts.parallelism,
        succeeded,
        seconds: round(jobSeconds),
        completionsPerSecond: round(opts.completions / jobSeconds),
      },
    };
    const text = `${JSON.stringify(result, null, 2)}\n`;
    await mkdir(resultsDir, { recursive: true });
    await writeFile(join(resultsDir, `${hostname()}.json`), text);
    await mkdir(".bench", { recursive: true });
    await writeFile(join(".bench", "jobs.json"), text);
    process.stdout.write(text);
  });
  process.exit(0);
}

await main();
