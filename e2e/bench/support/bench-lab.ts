/**
 * A fresh lab for one benchmark run: made in a temporary directory, with every component, and
 * removed afterwards, also when the run fails or is stopped with Ctrl-C or a kill (its hosts,
 * agents and control plane would otherwise outlive the benchmark's process).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { componentsFor } from "../../../kctl/lab/components.js";
import { labDown } from "../../../kctl/lab/lab-down.js";
import type { LabState } from "../../../kctl/lab/lab-state.js";
import { labContext, labUp } from "../../../kctl/lab/lab-up.js";

export interface BenchLab {
  state: LabState;
  /** The path of the lab's admin kubeconfig. */
  clientConfig: string;
  /** A scratch directory for the run's own files, removed with the lab. */
  dir: string;
}

export async function withBenchLab<T>(
  opts: { name: string; hosts: number; readyTimeoutMs?: number; subnets?: number },
  body: (lab: BenchLab) => Promise<T>,
): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), `kctl-bench-${opts.name}-`));
  // A random suffix, so two benchmarks (or two engineers) never share a lab's names.
  const target = {
    name: `${opts.name.slice(0, 6)}${randomBytes(2).toString("hex")}`,
    labDir: join(root, "lab"),
    registryDir: join(root, "registry"),
  };
  const components = componentsFor("all");
  let removed: Promise<void> | undefined;
  const remove = () => {
    removed ??= labDown({ ...target, graceMs: 1_000 })
      .catch((err: unknown) => console.error(`lab down: ${err}`))
      .then(() => rm(root, { recursive: true, force: true }));
    return removed;
  };
  const onSignal = () => void remove().finally(() => process.exit(130));
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, onSignal);
  try {
    const state = await labUp({
      ...target,
      nodes: opts.hosts,
      components,
      readyTimeoutMs: opts.readyTimeoutMs ?? 180_000,
      ...(opts.subnets ? { subnets: opts.subnets } : {}),
    });
    return await body({ state, clientConfig: components.clientConfig!(labContext(state)), dir: root });
  } finally {
    await remove();
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.off(sig, onSignal);
  }
}
