/**
 * `lab up`: builds a lab step by step, recording each thing in the state file before making it,
 * so that a failure (or a crash of this process) at any point leaves a state from which it is
 * undone. A failure rolls back exactly what was made, and the error carries the tail of the logs
 * of the components that had started.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tracer } from "../../foundation/util/trace.js";
import { ownHierarchies } from "../../node-agent/cgroups/hierarchies-linux.js";
import { makeCgroup, makeLabCgroups } from "./cgroups-linux.js";
import {
  API_PORT,
  acceptsTcp,
  CONTROL_PLANE,
  type LabComponents,
  type LabContext,
  labRegistryConfig,
  newToken,
  pollUntil,
  REGISTRY,
  REGISTRY_PORT,
} from "./components.js";
import { LabError } from "./errors.js";
import { HOST_LOCK_DIR, takeLabLock } from "./lab-lock.js";
import {
  hostNamespace,
  labAddresses,
  labCgroupName,
  labNamespace,
  nodeAddress,
  nodeName,
  rootVethName,
  validateLabName,
  validateNodeCount,
  validateSubnetCount,
} from "./lab-names.js";
import {
  componentLogFile,
  componentStateDir,
  DEFAULT_LABS_ROOT,
  DEFAULT_REGISTRY_DIR,
  type LabState,
  LOGS_DIR,
  logTails,
  readLabState,
  registeredLabDir,
  registerLab,
  writeLabState,
} from "./lab-state.js";
import { type ComponentSpec, type StartedComponent, startComponent } from "./processes.js";
import { pickSubnetIndex, rootNamespaceCidrs } from "./subnet.js";
import { teardownLab } from "./teardown.js";
import {
  createHost,
  createLabNamespace,
  createTransit,
  namespaceExists,
  rootLinkExists,
} from "./topology-linux.js";

export interface LabUpOptions {
  name: string;
  nodes: number;
  /** How many routed subnets the hosts are dealt over (default 1: one L2 segment). */
  subnets?: number;
  components: LabComponents;
  /** Defaults to /var/lib/kctl/labs/<name>. */
  labDir?: string;
  registryDir?: string;
  /** How long the control plane and then the nodes get to become ready. */
  readyTimeoutMs?: number;
  /** SIGTERM-to-SIGKILL grace when rolling back. */
  graceMs?: number;
  /** Aborting (Ctrl-C) stops waiting and rolls the lab back. */
  signal?: AbortSignal;
}

const trace = tracer("lab");

async function refuseExisting(state: LabState, registryDir: string): Promise<void> {
  const { name, labDir, nodeCount } = state;
  const hint = `run "kctl lab down --name ${name}" first`;
  const registered = await registeredLabDir(registryDir, name);
  for (const dir of new Set([labDir, ...(registered ? [registered] : [])])) {
    if (await readLabState(dir))
      throw new LabError("AlreadyExists", `lab ${name} already exists (state in ${dir}); ${hint}`);
  }
  const namespaces = [labNamespace(name)];
  for (let i = 1; i <= nodeCount; i++) namespaces.push(hostNamespace(name, i));
  for (const ns of namespaces) {
    if (await namespaceExists(ns))
      throw new LabError("AlreadyExists", `lab ${name}: network namespace ${ns} already exists; ${hint}`);
  }
  if (await rootLinkExists(rootVethName(name))) {
    throw new LabError(
      "AlreadyExists",
      `lab ${name}: link ${rootVethName(name)} already exists in the root namespace; ${hint}`,
    );
  }
  if (existsSync(labDir) && (await readdir(labDir)).length > 0) {
    throw new LabError(
      "InvalidArgument",
      `--state-dir: ${labDir} is not empty and holds no lab; choose an empty or new directory`,
    );
  }
}

/** The hook's view of a lab whose network exists. */
export function labContext(state: LabState): LabContext {
  const addresses = state.addresses!;
  return {
    name: state.name,
    labDir: state.labDir,
    addresses,
    nodes: state.nodes,
    server: `https://${addresses.gateway}:${API_PORT}`,
    apiPort: API_PORT,
    token: state.token,
    stateDirOf: (component) => componentStateDir(state.labDir, component),
    registry: `${addresses.gateway}:${REGISTRY_PORT}`,
    registryConfigFile: join(state.labDir, "registry-config.json"),
  };
}

/**
 * Starts one component of a lab in `namespace`, in its own leaf of the lab's cgroups, and records it
 * in the state file. Used by `lab up` and to restart a component (e.g. an agent) of a running lab.
 */
export async function launchComponent(
  state: LabState,
  name: string,
  namespace: string,
  spec: ComponentSpec,
): Promise<StartedComponent> {
  const stateDir = componentStateDir(state.labDir, name);
  // 0711 like a real node's state dir (see saveIdentity): user-namespaced pods reach their rootfs.
  await mkdir(stateDir, { recursive: true, mode: 0o711 });
  const cgroups = state.cgroups.map((dir) => join(dir, name));
  for (const dir of cgroups) await makeCgroup(dir);
  trace(`${state.name}: start ${name} in ${namespace}: ${spec.argv.join(" ")}`);
  const started = await startComponent({
    name,
    spec,
    namespace,
    stateDir,
    logFile: componentLogFile(state.labDir, name),
    cgroups,
  });
  state.processes = [...state.processes.filter((p) => p.name !== name), started.record];
  await writeLabState(state);
  return started;
}

async function waitReady(
  what: string,
  check: (signal: AbortSignal) => Promise<void>,
  started: readonly StartedComponent[],
  timeoutMs: number,
  cancel: AbortSignal | undefined,
): Promise<void> {
  cancel?.throwIfAborted();
  const ac = new AbortController();
  const onCancel = () => ac.abort(new LabError("ComponentFailed", `interrupted while waiting for ${what}`));
  cancel?.addEventListener("abort", onCancel, { once: true });
  const timer = setTimeout(
    () => ac.abort(new LabError("Timeout", `${what} not ready after ${timeoutMs / 1000} s`)),
    timeoutMs,
  );
  const aborted = new Promise<never>((_, reject) =>
    ac.signal.addEventListener("abort", () => reject(ac.signal.reason)),
  );
  const died = started.map((s) =>
    s.exited.then((how) => {
      throw new LabError("ComponentFailed", `${s.record.name} ${how} before ${what} was ready`);
    }),
  );
  trace(`waiting for ${what}`);
  try {
    await Promise.race([check(ac.signal), aborted, ...died]);
  } finally {
    clearTimeout(timer);
    cancel?.removeEventListener("abort", onCancel);
    ac.abort();
  }
}

async function build(state: LabState, opts: LabUpOptions, release: () => Promise<void>): Promise<void> {
  const { name, components } = opts;
  const timeoutMs = opts.readyTimeoutMs ?? 120_000;

  const addrs = labAddresses(pickSubnetIndex(await rootNamespaceCidrs()));
  state.addresses = addrs;
  state.labNamespace = labNamespace(name);
  await writeLabState(state);
  trace(`${name}: network ${addrs.reserved}`);
  const subnets = opts.subnets ?? 1;
  await createLabNamespace(name, addrs, subnets);

  state.rootVeth = rootVethName(name);
  await writeLabState(state);
  state.rootRoute = await createTransit(name, addrs);
  await writeLabState(state);

  for (let i = 1; i <= opts.nodes; i++) {
    opts.signal?.throwIfAborted();
    state.nodes.push({
      name: nodeName(i),
      namespace: hostNamespace(name, i),
      address: nodeAddress(addrs, i, subnets),
    });
    await writeLabState(state);
    await createHost(name, addrs, i, subnets);
  }
  // The network is in the root namespace's routes now: the next lab will see this /16 taken.
  await release();

  const hierarchies = await ownHierarchies();
  state.cgroups = hierarchies.map((h) => join(h.ownDir, labCgroupName(name)));
  await writeLabState(state);
  await makeLabCgroups(hierarchies, labCgroupName(name));

  const ctx = labContext(state);
  await components.prepare?.(ctx);
  const started: StartedComponent[] = [];
  const tier = components.controlPlaneComponents?.(ctx) ?? [];
  for (const c of tier) {
    started.push(await launchComponent(state, c.name, c.node?.namespace ?? labNamespace(name), c.spec));
  }
  if (tier.length) {
    const ready = components.controlPlaneReady;
    if (ready)
      await waitReady("the control planes", (signal) => ready(ctx, signal), started, timeoutMs, opts.signal);
    state.server = ctx.server;
    state.ports.apiserver = ctx.apiPort;
  }
  if (components.controlPlane) {
    started.push(
      await launchComponent(state, CONTROL_PLANE, labNamespace(name), components.controlPlane(ctx)),
    );
    const ready = components.controlPlaneReady;
    if (ready)
      await waitReady("the control plane", (signal) => ready(ctx, signal), started, timeoutMs, opts.signal);
    state.server = ctx.server;
    state.ports.apiserver = ctx.apiPort;
  }
  if (components.registry) {
    const registry = await launchComponent(state, REGISTRY, labNamespace(name), components.registry(ctx));
    started.push(registry);
    await waitReady(
      "the image registry",
      (signal) => pollUntil(() => acceptsTcp(ctx.addresses.gateway, REGISTRY_PORT), signal),
      [registry],
      timeoutMs,
      opts.signal,
    );
    await writeFile(ctx.registryConfigFile, labRegistryConfig(ctx));
    state.registry = ctx.registry;
    state.ports.registry = REGISTRY_PORT;
    await writeLabState(state);
  }
  if (components.agent) {
    for (const node of state.nodes) {
      started.push(await launchComponent(state, node.name, node.namespace, components.agent(ctx, node)));
    }
  }
  const nodesReady = components.nodesReady;
  if (nodesReady)
    await waitReady("every node", (signal) => nodesReady(ctx, signal), started, timeoutMs, opts.signal);
  const config = components.clientConfig?.(ctx);
  if (config !== undefined) state.clientConfig = config;
  state.phase = "ready";
  await writeLabState(state);
}

/** Creates lab `opts.name` and returns its state once every node is ready. */
export async function labUp(opts: LabUpOptions): Promise<LabState> {
  validateLabName(opts.name);
  validateNodeCount(opts.nodes);
  validateSubnetCount(opts.subnets ?? 1, opts.nodes);
  const labDir = opts.labDir ?? join(DEFAULT_LABS_ROOT, opts.name);
  const registryDir = opts.registryDir ?? DEFAULT_REGISTRY_DIR;
  const state: LabState = {
    version: 1,
    name: opts.name,
    labDir,
    phase: "creating",
    createdAt: new Date().toISOString(),
    nodeCount: opts.nodes,
    ...(opts.subnets !== undefined && opts.subnets > 1 ? { subnets: opts.subnets } : {}),
    components: opts.components.profile,
    token: newToken(),
    nodes: [],
    cgroups: [],
    processes: [],
    ports: {},
  };

  let held = true;
  const lockRelease = await takeLabLock(HOST_LOCK_DIR);
  const release = async () => {
    if (held) await lockRelease();
    held = false;
  };
  try {
    await refuseExisting(state, registryDir);
  } catch (err) {
    await release();
    throw err;
  }

  try {
    // The lab dir holds the hosts' state dirs: searchable, as a real node's /var/lib is.
    await mkdir(labDir, { recursive: true, mode: 0o711 });
    await mkdir(join(labDir, LOGS_DIR), { recursive: true, mode: 0o700 });
    await writeLabState(state);
    await registerLab(registryDir, opts.name, labDir);
    await build(state, opts, release);
    return state;
  } catch (err) {
    await release();
    const logs = await logTails(state.labDir, 20);
    let cleanup = "";
    try {
      await teardownLab(state, { graceMs: opts.graceMs ?? 10_000, byName: false, registryDir });
    } catch (cleanupErr) {
      cleanup = `\nrollback incomplete: ${(cleanupErr as Error).message}`;
    }
    const code = err instanceof LabError ? err.code : "ComponentFailed";
    throw new LabError(code, `lab up ${opts.name} failed: ${(err as Error).message}${cleanup}${logs}`, {
      cause: err,
    });
  }
}
