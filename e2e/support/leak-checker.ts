/**
 * The leak checker: a snapshot of every lab host (network namespaces, links, cgroups beneath the
 * lab's cgroup parent, mounts, nft tables/chains/rules/sets/elements, the processes in each
 * component's cgroups beside the component itself, and the agent's per-pod state: pod dirs, kshim
 * state dirs, netns files, container rootfs dirs), taken at the start of a test and compared with
 * one taken after its workloads are gone. Whatever a host holds at the end and did not at the start
 * is a leak, reported by host. Read from the hosts themselves (their namespaces, /proc, the cgroup
 * and state trees), never from the API.
 *
 * Use: `const before = await snapshotLab(lab.state.labDir)`, run and delete the workloads, then
 * `await leaksAfterSettling(lab.state.labDir, before)`.
 */
import { readdir, readFile, readlink, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { cgroupTree, pidsIn } from "../../kctl/lab/cgroups-linux.js";
import { COMPONENTS_DIR, type LabState, readLabState } from "../../kctl/lab/lab-state.js";
import { runCommand } from "../../kctl/lab/run-command.js";
import { NETNS_DIR } from "../../kctl/lab/topology-linux.js";
import { unescapeMountPath } from "../../node-agent/cgroups/hierarchies-linux.js";
import { TABLE as POLICY_TABLE } from "../../node-agent/network-policy/ruleset.js";
import { DEFAULT_PROXY_TABLE } from "../../node-agent/proxy/service-proxy.js";
import {
  emptyItems,
  type HostSnapshot,
  type Leak,
  leaksBetween,
  nftItems,
  type SnapshotItem,
} from "./leak-diff.js";

/** The agent's per-pod state, beneath a node's state dir. */
const POD_STATE_DIRS = ["pods", "runtime", "netns", join("images", "rootfs")];
/**
 * The pods' parent cgroup beneath an agent's (`<node>/kctl-<node>`, node-agent/cgroups/pod-cgroups.ts):
 * made with the node's first pod and kept for the next, as the kubelet keeps `kubepods`. Part of
 * the node, not of a pod, so not a leak; what is beneath it is checked.
 */
const isPodsParent = (rel: string) => /^([^/]+)\/kctl-\1$/.test(rel);
/**
 * The agent's long-lived helpers (node-agent/util/native-helper.ts): started with the node's first
 * pod and kept, like the pods' parent cgroup. The first of each per host is part of the node; a
 * second is a leak.
 */
const isAgentHelper = (cmd: string) =>
  /\/native\/build\/(sandbox-net|rootfs-mount|command-runner)(\s|$)/.test(cmd);
/** What belongs to no host: the front, the registry, the lab namespace. */
export const LAB_OWNER = "lab";

class LeakCheckError extends Error {
  constructor(what: string, detail: string) {
    super(`leak checker: ${what}: ${detail}`);
  }
}

/** The host a lab component runs on: `nodeI` and `controlplane-nodeI` are on nodeI. */
function ownerOf(state: LabState, component: string): string {
  const node = component.replace(/^controlplane-/, "");
  return state.nodes.some((n) => n.name === node) ? node : LAB_OWNER;
}

async function inHost(namespace: string, argv: string[]): Promise<string> {
  const res = await runCommand(["ip", "netns", "exec", namespace, ...argv]);
  if (res.code !== 0) throw new LeakCheckError(`${argv.join(" ")} in ${namespace}`, res.stderr.trim());
  return res.stdout;
}

async function links(namespace: string): Promise<SnapshotItem[]> {
  const list = JSON.parse(await inHost(namespace, ["ip", "-j", "-d", "link", "show"])) as {
    ifname: string;
    linkinfo?: { info_kind?: string };
  }[];
  return list.map((l) => ({ key: `${l.ifname} ${l.linkinfo?.info_kind ?? "device"}` }));
}

async function nft(namespace: string): Promise<SnapshotItem[]> {
  return nftItems(JSON.parse(await inHost(namespace, ["nft", "-j", "list", "ruleset"])));
}

interface Mount {
  point: string;
  fsType: string;
}

function parseMounts(mountinfo: string): Mount[] {
  return mountinfo
    .split("\n")
    .filter((line) => line.includes(" - "))
    .map((line) => {
      const [fields, rest] = line.split(" - ") as [string, string];
      return { point: unescapeMountPath(fields.split(" ")[4] ?? ""), fsType: rest.split(" ")[0] ?? "" };
    });
}

/** The component whose state dir holds `path` (`<lab>/state/<component>/...`), if any. */
function componentOfPath(labDir: string, path: string): string | undefined {
  const rel = relative(join(labDir, COMPONENTS_DIR), path);
  return rel.startsWith("..") || rel === "" ? undefined : rel.split("/")[0];
}

async function inode(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => undefined))?.ino;
}

async function procStartTime(pid: number): Promise<string | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  return text?.slice(text.lastIndexOf(")") + 2).split(" ")[19];
}

async function cmdline(pid: number): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return raw.split("\0").filter(Boolean).join(" ").slice(0, 160);
}

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/** The pids beside each component: everything in its cgroups but itself and the etcd it runs. */
async function componentProcesses(
  state: LabState,
): Promise<Map<string, { pid: number; component: string }[]>> {
  const byOwner = new Map<string, { pid: number; component: string }[]>();
  for (const p of state.processes) {
    const own = new Set([p.pid]);
    const etcd = Number((await readFile(join(p.stateDir, "etcd.pid"), "utf8").catch(() => "")).trim());
    if (etcd) own.add(etcd);
    // Every hierarchy holds every process; one is enough.
    const pids = p.cgroups[0] ? await pidsIn(p.cgroups[0]) : [];
    const owner = ownerOf(state, p.name);
    const list = byOwner.get(owner) ?? [];
    for (const pid of pids) if (!own.has(pid)) list.push({ pid, component: p.name });
    byOwner.set(owner, list);
  }
  return byOwner;
}

/** The snapshot of every host of the lab in `labDir` (and of the lab itself, as host `lab`). */
export async function snapshotLab(labDir: string): Promise<HostSnapshot[]> {
  const state = await readLabState(labDir);
  if (!state) throw new LeakCheckError(labDir, "no lab state file");
  const hosts = new Map<string, HostSnapshot>(
    [...state.nodes.map((n) => n.name), LAB_OWNER].map((h) => [h, { host: h, items: emptyItems() }]),
  );
  const add = (owner: string, category: keyof HostSnapshot["items"], item: SnapshotItem) =>
    hosts.get(owner)!.items[category].push(item);

  const hostNetns = new Set<number>();
  for (const n of state.nodes) {
    const ino = await inode(join(NETNS_DIR, n.namespace));
    if (ino !== undefined) hostNetns.add(ino);
    hosts.get(n.name)!.items.link.push(...(await links(n.namespace)));
    hosts.get(n.name)!.items.nft.push(...(await nft(n.namespace)));
    for (const dir of POD_STATE_DIRS) {
      for (const e of await entries(join(labDir, COMPONENTS_DIR, n.name, dir))) {
        if (!e.startsWith(".")) add(n.name, "state", { key: join(dir, e) });
      }
    }
  }

  // Network namespaces: one item per namespace, whether a bind mount or a process holds it.
  const netns = new Map<number, { owner: string; holders: string[] }>();
  const holdNetns = (ino: number | undefined, owner: string, holder: string) => {
    if (ino === undefined || hostNetns.has(ino)) return;
    const entry = netns.get(ino) ?? { owner, holders: [] };
    entry.holders.push(holder);
    netns.set(ino, entry);
  };

  for (const m of parseMounts(await readFile("/proc/self/mountinfo", "utf8"))) {
    const component = componentOfPath(labDir, m.point);
    if (component === undefined) continue;
    const owner = ownerOf(state, component);
    add(owner, "mount", { key: `${m.point} ${m.fsType}` });
    if (m.fsType === "nsfs") holdNetns(await inode(m.point), owner, m.point);
  }

  for (const root of state.cgroups) {
    const hierarchy = relative("/sys/fs/cgroup", root).split("/")[0] ?? root;
    for (const dir of await cgroupTree(root)) {
      const rel = relative(root, dir);
      if (rel && !isPodsParent(rel))
        add(ownerOf(state, rel.split("/")[0]!), "cgroup", { key: rel, detail: hierarchy });
    }
  }

  // Processes count by what they run, not by pid: a component restarted since the first snapshot
  // (an agent killed by a fault) has started its own children again under new pids.
  const helpersSeen = new Set<string>();
  for (const [owner, procs] of await componentProcesses(state)) {
    for (const { pid, component } of procs) {
      const started = await procStartTime(pid);
      if (started === undefined) continue; // exited since the cgroup was read
      const what = `${component}: ${await cmdline(pid)}`;
      if (isAgentHelper(what) && !helpersSeen.has(what)) helpersSeen.add(what);
      else add(owner, "process", { key: what, detail: `pid ${pid}, started at tick ${started}` });
      const ns = await readlink(`/proc/${pid}/ns/net`).catch(() => undefined);
      const ino = ns ? Number(/\[(\d+)\]/.exec(ns)?.[1]) : undefined;
      holdNetns(ino, owner, `pid ${pid}`);
    }
  }
  for (const [ino, { owner, holders }] of netns) {
    add(owner, "netns", { key: `net:[${ino}]`, detail: holders.join(" ") });
  }
  return [...hosts.values()];
}

/**
 * What every agent's host holds once its agent is up: the Service and NetworkPolicy tables, made
 * once its object streams have synced, in the background, some time after the node is Ready.
 */
const AGENT_UP = [`table ip ${DEFAULT_PROXY_TABLE}`, `table ${POLICY_TABLE}`];

/**
 * A snapshot of a lab at rest, to compare the end with: taken again every 2 s until every agent's
 * host holds what an agent that is up keeps for the node's life (`AGENT_UP`) and two snapshots in
 * a row hold the same items (or `boundMs` passed). A snapshot taken before that would report the
 * agents' tables and helpers as leaks at the end (CI saw both: one agent's policy table, then every
 * agent's tables when the agents synced later than two snapshots).
 */
export async function snapshotLabAtRest(labDir: string, boundMs = 60_000): Promise<HostSnapshot[]> {
  const started = Date.now();
  const state = await readLabState(labDir);
  // An agent's process is named after its node.
  const nodes = new Set(state?.nodes.map((n) => n.name));
  const agents = new Set(state?.processes.map((p) => p.name).filter((name) => nodes.has(name)));
  const agentsUp = (snapshot: readonly HostSnapshot[]) =>
    snapshot
      .filter((h) => agents.has(h.host))
      .every((h) => AGENT_UP.every((key) => h.items.nft.some((i) => i.key === key)));
  let last = await snapshotLab(labDir);
  for (;;) {
    await new Promise((r) => setTimeout(r, 2_000));
    const next = await snapshotLab(labDir);
    const same = leaksBetween(last, next).length === 0 && leaksBetween(next, last).length === 0;
    if ((same && agentsUp(next)) || Date.now() - started >= boundMs) return next;
    last = next;
  }
}

/**
 * The leaks of the lab in `labDir` since `before`, once they stop going away: compares every 2 s
 * until nothing is left or `boundMs` passed (the agents clean up after the API has let go of a pod),
 * and returns what is left and how long it took to be clean, if it was.
 */
export async function leaksAfterSettling(
  labDir: string,
  before: readonly HostSnapshot[],
  boundMs = 60_000,
): Promise<{ leaks: Leak[]; settledMs?: number }> {
  const started = Date.now();
  for (;;) {
    const leaks = leaksBetween(before, await snapshotLab(labDir));
    if (leaks.length === 0) return { leaks, settledMs: Date.now() - started };
    if (Date.now() - started >= boundMs) return { leaks };
    await new Promise((r) => setTimeout(r, 2_000));
  }
}
