/**
 * A real multi-host cluster for e2e tests: a lab (hosts as network namespaces, each running a node
 * agent that joined with a bootstrap token; etcd and the control plane in the lab namespace), and
 * kctl run as a process against it. `down()` removes everything, even after a failed test.
 */
import { randomBytes } from "node:crypto";
import { chmod, cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunnerTestFile as File, RunnerTestSuite as Suite } from "vitest";
import { componentsFor, type LabComponents } from "../../kctl/lab/components.js";
import { labDown } from "../../kctl/lab/lab-down.js";
import { restartComponent } from "../../kctl/lab/lab-restart.js";
import { type LabState, LOGS_DIR, logTails } from "../../kctl/lab/lab-state.js";
import { labContext, labUp } from "../../kctl/lab/lab-up.js";
import { runCommand } from "../../kctl/lab/run-command.js";
import { kctl, type RunResult, requireBuild } from "./kctl-process.js";

export { eventually } from "./eventually.js";

export interface LabCluster {
  state: LabState;
  config: string;
  kctl(...args: string[]): Promise<RunResult>;
  apply(yaml: string): Promise<RunResult>;
  /** Runs a command on a lab host (e.g. wget a pod IP from node2). */
  onNode(node: string, ...argv: string[]): Promise<RunResult>;
  /** GETs `url` from a lab host with busybox wget, giving up after 3 s; stdout is the body. */
  httpGet(node: string, url: string): Promise<RunResult>;
  /** Kills a component (`controlplane` or a node) with SIGKILL and starts it again. */
  crashAndRestart(component: string): Promise<void>;
  /**
   * Removes the lab. Given the suite (afterAll's second argument) and it failed, first keeps the
   * components' logs under KCTL_E2E_LOGS (default $TMPDIR/kctl-e2e-logs) and prints their tails,
   * since a failure seen only in CI can't be rerun with the lab still standing.
   */
  down(suite?: Readonly<Suite | File>): Promise<void>;
  /**
   * Keeps the components' logs as `down` does for a failed suite, for a caller that judges failure
   * itself (the soak); returns the folder, for the failure message.
   */
  keepLogs(): Promise<string>;
}

const FAILURE_LOG_TAIL_LINES = 60;

/** Whether a suite (afterAll's second argument) or any test in it failed. */
export function suiteFailed(task: Readonly<Suite | File>): boolean {
  if (task.result?.state === "fail" || (task.result?.errors?.length ?? 0) > 0) return true;
  return task.tasks.some((t) => ("tasks" in t ? suiteFailed(t) : t.result?.state === "fail"));
}

/** Copies the lab's component logs to KCTL_E2E_LOGS/<lab> and prints their tails; returns that folder. */
async function keepLogs(labDir: string, name: string, config: string): Promise<string> {
  const dest = join(process.env.KCTL_E2E_LOGS ?? join(tmpdir(), "kctl-e2e-logs"), name);
  await cp(join(labDir, LOGS_DIR), dest, { recursive: true }).catch(() => undefined);
  const events = await kctl(["get", "events", "-A"], { config, timeoutMs: 10_000 }).catch((err: unknown) => ({
    stdout: "",
    stderr: String(err),
  }));
  console.error(
    `lab ${name} failed; its logs are kept in ${dest}${await logTails(labDir, FAILURE_LOG_TAIL_LINES)}\n` +
      `--- kctl get events -A ---\n${events.stdout}${events.stderr}`,
  );
  return dest;
}

export const isRoot = process.getuid?.() === 0;

/** Adds flags to the control plane's `kctl up` (e.g. short failure detection for tests). */
export function withControlPlaneFlags(base: LabComponents, ...flags: string[]): LabComponents {
  return {
    ...base,
    controlPlane: (ctx) => {
      const spec = base.controlPlane!(ctx);
      return { ...spec, argv: [...spec.argv, ...flags] };
    },
  };
}

/**
 * Starts the control plane with `--load-balancer-pool`, the pool made from the lab's gateway
 * address (known only once the lab's network exists).
 */
export function withLoadBalancerPool(base: LabComponents, pool: (gateway: string) => string): LabComponents {
  return {
    ...base,
    controlPlane: (ctx) => {
      const spec = base.controlPlane!(ctx);
      return { ...spec, argv: [...spec.argv, "--load-balancer-pool", pool(ctx.addresses.gateway)] };
    },
  };
}

export async function startLabCluster(
  prefix: string,
  nodes: number,
  components: LabComponents = componentsFor("all"),
  /** How long every node may take to turn Ready; default 90 s. */
  readyTimeoutMs = 90_000,
  /** How many routed subnets the hosts are dealt over (`kctl lab up --subnets`); default 1. */
  subnets = 1,
): Promise<LabCluster> {
  requireBuild();
  const root = await mkdtemp(join(tmpdir(), `kctl-e2e-${prefix}-`));
  // Searchable by others (not readable), as /var/lib is for a real node's state: the root of a
  // hostUsers: false pod is an unprivileged host id and must reach its rootfs through here.
  await chmod(root, 0o711);
  const target = {
    name: `${prefix}${randomBytes(2).toString("hex")}`,
    labDir: join(root, "lab"),
    registryDir: join(root, "registry"),
  };
  const remove = async () => {
    await labDown({ ...target, graceMs: 2_000 }).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  };
  let state: LabState;
  try {
    state = await labUp({ ...target, nodes, subnets, components, readyTimeoutMs });
  } catch (err) {
    await remove();
    throw err;
  }
  const config = components.clientConfig!(labContext(state));
  const onNode = (node: string, ...argv: string[]) => {
    const ns = state.nodes.find((n) => n.name === node)?.namespace;
    if (!ns) throw new Error(`no node ${node} in lab ${state.name}`);
    return runCommand(["ip", "netns", "exec", ns, ...argv]);
  };
  return {
    state,
    config,
    kctl: (...args) => kctl(args, { config, timeoutMs: 60_000 }),
    apply: (yaml) => kctl(["apply", "-f", "-"], { config, input: yaml }),
    onNode,
    httpGet: (node, url) => onNode(node, "timeout", "3", "busybox", "wget", "-q", "-O-", url),
    crashAndRestart: async (component) => {
      await restartComponent({ ...target, component, components, graceMs: 0 });
    },
    down: async (suite) => {
      if (suite && suiteFailed(suite)) await keepLogs(target.labDir, target.name, config);
      await remove();
    },
    keepLogs: () => keepLogs(target.labDir, target.name, config),
  };
}

/**
 * An afterAll hook that removes the lab, keeping its logs when the suite failed:
 * `afterAll(downLab(() => lab))`.
 */
export function downLab(
  lab: () => LabCluster | undefined,
): (context: object, suite: Readonly<Suite | File>) => Promise<void> {
  // biome-ignore lint/correctness/noEmptyPattern: vitest requires a destructuring first parameter and passes the suite second
  return async ({}, suite) => {
    await lab()?.down(suite);
  };
}
