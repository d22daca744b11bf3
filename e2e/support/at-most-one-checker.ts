/**
 * The at-most-one checker: samples every lab host's containers as they really run (kshim's state
 * dirs under each agent's `runtime/`, and the processes they name), every `intervalMs`, and reports
 * any moment two hosts ran the same identity (`namespace/name`) of a pod that asks for at most one
 * copy (`kctl.io/at-most-one: "true"` or a StatefulSet's pod, foundation/api/at-most-one.ts).
 *
 * Whether a copy runs comes from the hosts, never from the API; the API only names the pod UIDs
 * the container ids carry, from a list and then a watch of every pod, so a pod is named however
 * short its life (one listed every second was not: a pod now starts in some 50 ms, and one created
 * and force-deleted between two lists went unnamed and unchecked). A copy starts at its init
 * process's start time (the kernel's, exact) and ends between the last sample that saw it running
 * and the first that did not (or its exit record); `copy-overlaps.ts` turns that into certain and
 * possible overlaps. Times are on the boot clock (/proc/uptime and the processes' start times share
 * it), so a jump of the wall clock cannot fake or hide an overlap.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { asksAtMostOne } from "../../foundation/api/at-most-one.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { ApiClient } from "../../kctl/client.js";
import { readConfig } from "../../kctl/config.js";
import { COMPONENTS_DIR, readLabState } from "../../kctl/lab/lab-state.js";
import { parseContainerId } from "../../node-agent/pod-worker/container-record.js";
import { readKshimState } from "../../node-agent/runtime/oci/kshim-state.js";
import { type Copy, type Overlap, overlapsOf } from "./copy-overlaps.js";

/** /proc reports start times in USER_HZ ticks, 100 a second on every Linux architecture kctl runs on. */
const MS_PER_TICK = 10;
const NAME_REFRESH_MS = 1_000;

export interface AtMostOneReport {
  samples: number;
  /** Time between the starts of two samples of one host: how fine the sampling really was. */
  sampleGapMs: { p50: number; max: number };
  /** The at-most-one identities seen running. */
  identities: string[];
  /** Their copies (a container on a host) seen running. */
  copies: number;
  overlaps: Overlap[];
  /** Containers whose pod the API never named (so unchecked). */
  unnamed: number;
}

export interface AtMostOneChecker {
  stop(): Promise<AtMostOneReport>;
}

interface Sighting {
  uid: string;
  host: string;
  container: string;
  startMs: number;
  lastSeenMs: number;
  goneMs?: number;
}

async function bootNowMs(): Promise<number> {
  return Number((await readFile("/proc/uptime", "utf8")).split(" ")[0]) * 1000;
}

async function shimRecord(dir: string): Promise<{ pidStartTime?: number }> {
  return JSON.parse(await readFile(join(dir, "shim.json"), "utf8").catch(() => "{}")) as {
    pidStartTime?: number;
  };
}

/** The exit time kshim's monitor recorded, on the boot clock; undefined without a record. */
async function exitBootMs(dir: string): Promise<number | undefined> {
  const text = await readFile(join(dir, "exit.json"), "utf8").catch(() => undefined);
  if (!text) return undefined;
  const finishedAt = (JSON.parse(text) as { finishedAt?: string }).finishedAt ?? "";
  // Nanoseconds in the record; Date.parse wants at most milliseconds.
  const wallMs = Date.parse(finishedAt.replace(/(\.\d{3})\d+/, "$1"));
  if (Number.isNaN(wallMs)) return undefined;
  return wallMs - (Date.now() - (await bootNowMs()));
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : 0;
}

/** Starts sampling the hosts of the lab in `labDir`; `config` is a kubeconfig of that lab. */
export async function startAtMostOneChecker(
  labDir: string,
  config: string,
  intervalMs = 250,
): Promise<AtMostOneChecker> {
  const state = await readLabState(labDir);
  if (!state) throw new Error(`at-most-one checker: no lab state file in ${labDir}`);
  const hosts = state.nodes.map((n) => ({
    name: n.name,
    runtime: join(labDir, COMPONENTS_DIR, n.name, "runtime"),
  }));
  const clientConfig = await readConfig(config);
  const client = new ApiClient(clientConfig);
  const stopWatching = new AbortController();
  const watcher = new ApiClient(clientConfig, stopWatching.signal);
  const pods = resourceForKind("v1", "Pod")!;
  const named = new Map<string, { identity: string; atMostOne: boolean }>();
  const sightings = new Map<string, Sighting>();
  const gaps: number[] = [];
  let samples = 0;
  let running = true;

  const name = (p: KubeObject) => {
    if (p.metadata.uid)
      named.set(p.metadata.uid, {
        identity: `${p.metadata.namespace}/${p.metadata.name}`,
        atMostOne: asksAtMostOne(p),
      });
  };
  /** Names every pod the API lists now; resolves with the list's resourceVersion. */
  const refreshNames = async () => {
    const list = await client.list(pods, undefined).catch(() => undefined);
    for (const p of list?.items ?? []) name(p);
    return list?.metadata.resourceVersion;
  };

  /** The latest sighting of each container id on each host: ids come back (a fenced pod's next start). */
  const latest = new Map<string, Sighting>();

  const sampleHost = async (host: { name: string; runtime: string }) => {
    const seenAt = await bootNowMs();
    const ids = new Set(
      (await readdir(host.runtime).catch(() => [] as string[])).filter((e) => !e.startsWith(".")),
    );
    const markGone = async (s: Sighting | undefined, dir: string) => {
      if (s && s.goneMs === undefined) s.goneMs = (await exitBootMs(dir)) ?? (await bootNowMs());
    };
    for (const id of ids) {
      const parsed = parseContainerId(id);
      if (!parsed) continue;
      const dir = join(host.runtime, id);
      const status = (await readKshimState(host.runtime, id))?.status;
      const known = latest.get(`${host.name}/${id}`);
      if (status !== "running") {
        await markGone(known, dir);
        continue;
      }
      const ticks = (await shimRecord(dir)).pidStartTime;
      if (ticks === undefined) continue;
      // A new process under a known id is a new copy (the agent starts a fenced pod's containers
      // again from attempt 0, so the id of the killed one comes back).
      const key = `${host.name}/${id}@${ticks}`;
      const seen = sightings.get(key);
      if (seen) {
        seen.lastSeenMs = seenAt;
        continue;
      }
      await markGone(known, dir);
      const s = {
        uid: parsed.podUID,
        host: host.name,
        container: id,
        startMs: ticks * MS_PER_TICK,
        lastSeenMs: seenAt,
      };
      sightings.set(key, s);
      latest.set(`${host.name}/${id}`, s);
    }
    const after = await bootNowMs();
    for (const s of latest.values()) {
      if (s.host === host.name && s.goneMs === undefined && !ids.has(s.container)) s.goneMs = after;
    }
  };

  const sampleLoop = (async () => {
    let last: number | undefined;
    while (running) {
      const started = await bootNowMs();
      if (last !== undefined) gaps.push(started - last);
      last = started;
      await Promise.all(hosts.map(sampleHost));
      samples++;
      const took = (await bootNowMs()) - started;
      await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - took)));
    }
  })();
  await refreshNames();
  // Every pod created from the list on is named by its watch events; a watch that ends or fails
  // (a control plane killed) is taken up again from a new list.
  const nameLoop = (async () => {
    while (running) {
      const from = await refreshNames();
      try {
        for await (const e of watcher.watch(pods, undefined, from ? { resourceVersion: from } : {}))
          name(e.object);
      } catch {
        // Listed and watched again below.
      }
      if (running) await new Promise((r) => setTimeout(r, NAME_REFRESH_MS));
    }
  })();

  return {
    stop: async () => {
      running = false;
      stopWatching.abort();
      await Promise.all([sampleLoop, nameLoop]);
      await refreshNames();
      client.close();
      watcher.close();
      const copies: Copy[] = [];
      let unnamed = 0;
      for (const s of sightings.values()) {
        const pod = named.get(s.uid);
        if (!pod) unnamed++;
        else if (pod.atMostOne) {
          const { uid: _uid, ...rest } = s;
          copies.push({ identity: pod.identity, ...rest });
        }
      }
      const sorted = [...gaps].sort((a, b) => a - b);
      return {
        samples,
        sampleGapMs: { p50: Math.round(percentile(sorted, 0.5)), max: Math.round(sorted.at(-1) ?? 0) },
        identities: [...new Set(copies.map((c) => c.identity))].sort(),
        copies: copies.length,
        overlaps: overlapsOf(copies),
        unnamed,
      };
    },
  };
}
