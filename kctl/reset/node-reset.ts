/**
 * Undoes what a node agent made on its host, like `kubeadm reset`: its containers, their cgroups,
 * the pods' network namespaces and the bridge, the service proxy's nftables table, the routes to
 * other nodes' pods, the mounts beneath the state dir, and the state dir itself. The agent must be
 * stopped (its lock says so). Every step runs even when an earlier one failed; what could not be
 * undone is reported together at the end, and the state dir is then kept so that a retry can finish.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { defaultRuntimePath } from "../../node-agent/agent/agent.js";
import { loadIdentity } from "../../node-agent/agent/credentials.js";
import { lockAgentState } from "../../node-agent/agent/state-lock.js";
import { podCgroupsFile } from "../../node-agent/cgroups/pod-cgroups.js";
import { runTool } from "../../node-agent/network/commands-linux.js";
import { DEFAULT_BRIDGE, PodNetwork } from "../../node-agent/network/index.js";
import { ServiceProxy } from "../../node-agent/proxy/index.js";
import { HostRoutes } from "../../node-agent/routes/index.js";
import { ImageStore } from "../../node-agent/runtime/images/index.js";
import { RuntimeClient } from "../../node-agent/runtime/oci/runtime-client.js";
import { CliError } from "../errors.js";
import { killCgroupProcesses, removeCgroupTree } from "../lab/cgroups-linux.js";
import { unmountBeneath } from "../lab/mounts-linux.js";

export interface ResetOptions {
  stateDir: string;
  /** Told each thing removed, as one line. */
  report(line: string): void;
}

const listDir = (dir: string) => readdir(dir).catch(() => [] as string[]);

/** The node's pod CIDR as the agent's IPAM recorded it (`ipam/10.244.1.0_24`), if any. */
async function recordedPodCIDR(stateDir: string): Promise<string | undefined> {
  const [dir] = await listDir(join(stateDir, "ipam"));
  return dir?.replace("_", "/");
}

async function containers(o: ResetOptions): Promise<void> {
  const runtime = new RuntimeClient(defaultRuntimePath(), join(o.stateDir, "runtime"));
  const images = new ImageStore(o.stateDir);
  for (const id of await runtime.containerIds()) {
    await runtime.delete(id, true);
    await images.releaseRootfs(id);
    o.report(`container ${id} removed`);
  }
}

async function podCgroups(o: ResetOptions): Promise<void> {
  let dirs: string[];
  try {
    dirs = (JSON.parse(await readFile(podCgroupsFile(o.stateDir), "utf8")) as { dirs: string[] }).dirs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const present = dirs.filter((d) => existsSync(d));
  await killCgroupProcesses(present);
  for (const dir of present) {
    await removeCgroupTree(dir);
    o.report(`cgroup ${dir} removed`);
  }
}

async function podNetwork(o: ResetOptions): Promise<void> {
  const podCIDR = await recordedPodCIDR(o.stateDir);
  if (podCIDR !== undefined) {
    const network = new PodNetwork({ stateDir: o.stateDir, podCIDR, dns: { nameservers: [] } });
    for (const uid of await network.listSandboxes()) {
      await network.teardownSandbox(uid);
      o.report(`pod network of ${uid} removed`);
    }
  }
  const res = await runTool(["ip", "link", "del", DEFAULT_BRIDGE]);
  if (res.code === 0) o.report(`bridge ${DEFAULT_BRIDGE} removed`);
  else if (!/Cannot find device/.test(res.stderr))
    throw new Error(`ip link del ${DEFAULT_BRIDGE}: ${res.stderr.trim()}`);
}

async function serviceRules(o: ResetOptions): Promise<void> {
  await new ServiceProxy().uninstall();
  o.report("nftables table ip kctl removed");
  const nodeName = (await loadIdentity(o.stateDir).catch(() => undefined))?.nodeName ?? "unknown";
  await new HostRoutes({ nodeName }).uninstall();
  o.report("routes to other nodes' pods removed");
}

/** What only an agent's state dir holds; reset removes a dir with none of these only if it is empty. */
const agentMarkers = ["node-identity.json", "pod-cgroups.json", "runtime", "netns", "ipam"];

/** Refuses to go on when `--state-dir` names something other than an agent's state (a typo, `/`). */
async function checkStateDir(stateDir: string): Promise<void> {
  const dir = resolve(stateDir);
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [] as string[];
    throw new CliError(`--state-dir ${stateDir}: ${err.message}`);
  });
  if (dir === "/" || (entries.length > 0 && !entries.some((e) => agentMarkers.includes(e))))
    throw new CliError(
      `--state-dir ${stateDir}: not a node agent's state dir (it holds none of ${agentMarkers.join(", ")}); nothing removed`,
    );
}

export async function resetNode(o: ResetOptions): Promise<void> {
  await checkStateDir(o.stateDir);
  const unlock = await lockAgentState(o.stateDir);
  const failures: string[] = [];
  const step = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      failures.push(`${what}: ${(err as Error).message}`);
    }
  };
  try {
    // Containers before their cgroups and namespaces: a running process keeps both alive.
    await step("containers", () => containers(o));
    await step("pod cgroups", () => podCgroups(o));
    await step("pod network", () => podNetwork(o));
    await step("service rules and routes", () => serviceRules(o));
    await step("mounts", () => unmountBeneath(o.stateDir));
  } finally {
    await unlock();
  }
  if (failures.length > 0)
    throw new CliError(`reset incomplete, ${o.stateDir} kept for a retry:\n  ${failures.join("\n  ")}`);
  await rm(o.stateDir, { recursive: true, force: true });
  o.report(`${o.stateDir} removed`);
}
