/**
 * One sample of the usage of this node's pods, container by container, read from the cgroups the
 * runtime made for them: `<parent>/pod<uid>/<uid>_<container>_<attempt>` (see pod-cgroups.ts and
 * container-record.ts). Only the latest attempt of each of the pod's regular containers counts, as
 * the kubelet's summary lists running containers; init containers have finished by the time a
 * pod is Running and are left out, as metrics-server leaves them out.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Pod } from "../../proto/gen/api.js";
import type { PodStats, ResourceUsage } from "../../proto/gen/node.js";
import type { PodUsageDirs } from "../cgroups/pod-cgroups.js";
import { parseContainerId } from "../pod-worker/container-record.js";
import { type CgroupUsage, cgroupUsage } from "./cgroup-usage-linux.js";

/** The cgroup directory name of the latest attempt of each container, by container name. */
export function latestAttempts(entries: readonly string[], podUID: string): Map<string, string> {
  const best = new Map<string, { attempt: number; dir: string }>();
  for (const entry of entries) {
    const id = parseContainerId(entry);
    if (!id || id.podUID !== podUID) continue;
    const seen = best.get(id.name);
    if (!seen || id.attempt > seen.attempt) best.set(id.name, { attempt: id.attempt, dir: entry });
  }
  return new Map([...best].map(([name, v]) => [name, v.dir]));
}

/** A usage sample in its wire form, or undefined when neither figure could be read. */
export function toResourceUsage(usage: CgroupUsage, timestampMs: number): ResourceUsage | undefined {
  if (usage.cpuUsageMicroseconds === undefined || usage.memoryWorkingSetBytes === undefined) return undefined;
  return {
    timestampMs,
    cpuUsageMicroseconds: usage.cpuUsageMicroseconds,
    memoryWorkingSetBytes: usage.memoryWorkingSetBytes,
  };
}

/**
 * The usage of each running pod in `pods` whose containers' cgroups can be read; a pod with none
 * readable is left out (it is starting or gone), as is a container whose files vanished mid-read.
 */
export async function samplePods(
  pods: readonly Pod[],
  dirs: PodUsageDirs,
  now: () => number,
): Promise<PodStats[]> {
  const out: PodStats[] = [];
  for (const pod of pods) {
    const uid = pod.metadata.uid ?? "";
    if (!uid || pod.status?.phase !== "Running") continue;
    const podDir = `pod${uid}`;
    const entries = await readdir(join(dirs.cpu.dir, podDir)).catch(() => [] as string[]);
    const latest = latestAttempts(entries, uid);
    const containers: PodStats["containers"] = [];
    for (const { name = "" } of pod.spec?.containers ?? []) {
      const dir = latest.get(name);
      if (!dir) continue;
      const usage = await cgroupUsage(
        { ...dirs.cpu, dir: join(dirs.cpu.dir, podDir, dir) },
        { ...dirs.memory, dir: join(dirs.memory.dir, podDir, dir) },
      );
      const sample = toResourceUsage(usage, now());
      if (sample) containers.push({ name, usage: sample });
    }
    if (containers.length > 0) {
      out.push({ namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "", uid, containers });
    }
  }
  return out;
}
