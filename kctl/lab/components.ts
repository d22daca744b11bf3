/**
 * What the lab runs: the one place that says which command is the control plane, which is a node
 * agent, and how to tell that they are ready. The lab's network, supervision and teardown do not
 * depend on what is in here; the integrator edits only this file as `kctl up` and `kctl join`
 * take shape.
 *
 * Profiles (`kctl lab up --components`):
 *   all           control plane and an image registry in the lab namespace, one agent per host
 *                 pulling from that registry over plain HTTP (the default)
 *   controlplane  the control plane only, hosts are bare
 *   none          the network alone: namespaces, bridge and links, no processes
 */
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { LabError } from "./errors.js";
import type { LabAddresses } from "./lab-names.js";
import type { LabNode } from "./lab-state.js";
import type { ComponentSpec } from "./processes.js";
import { runCommand } from "./run-command.js";

export interface LabContext {
  name: string;
  labDir: string;
  addresses: LabAddresses;
  nodes: readonly LabNode[];
  /** The control plane URL; reachable from the hosts and, through the transit link, from the root. */
  server: string;
  /** Port the control plane listens on at the gateway address (the lab namespace is private). */
  apiPort: number;
  /**
   * A bootstrap token made for this lab, for agents to present on join (passed to `kctl up` and
   * `kctl join` in the environment).
   */
  token: string;
  /** State dir of a component (`controlplane` or a node name), created before it starts. */
  stateDirOf(component: string): string;
  /** The lab registry's `host:port` at the gateway, as image references name it. */
  registry: string;
  /** The agents' `--registry-config` file: plain HTTP for the lab registry. Lab up writes it. */
  registryConfigFile: string;
}

/** A component of the control plane tier: run in `node`'s namespace, or the lab's without one. */
export interface PlacedComponent {
  name: string;
  node?: LabNode;
  spec: ComponentSpec;
}

export interface LabComponents {
  readonly profile: string;
  /** Runs once the network and cgroups exist, before any component starts (e.g. makes shared keys). */
  prepare?(ctx: LabContext): Promise<void>;
  /**
   * Several control plane components (and what fronts them), instead of `controlPlane`; all start
   * before `controlPlaneReady` is awaited. See ha-components.ts.
   */
  controlPlaneComponents?(ctx: LabContext): PlacedComponent[];
  /** The control plane's command, run inside the lab namespace; undefined runs none. */
  controlPlane?(ctx: LabContext): ComponentSpec;
  /** Resolves when the control plane serves; polled until `signal` aborts. */
  controlPlaneReady?(ctx: LabContext, signal: AbortSignal): Promise<void>;
  /** The image registry's command, run inside the lab namespace; undefined runs none. */
  registry?(ctx: LabContext): ComponentSpec;
  /** The agent command for `node`, run inside that host's namespace; undefined runs none. */
  agent?(ctx: LabContext, node: LabNode): ComponentSpec;
  /** Resolves when every node of `ctx.nodes` is Ready. */
  nodesReady?(ctx: LabContext, signal: AbortSignal): Promise<void>;
  /** Path of the kctl config that points at this lab's control plane, if there is one. */
  clientConfig?(ctx: LabContext): string;
}

export const API_PORT = 6443;
export const CONTROL_PLANE = "controlplane";
/** The lab's image registry (Debian's docker-registry) listens here at the gateway address. */
export const REGISTRY = "registry";
export const REGISTRY_PORT = 5000;
export const REGISTRY_BIN = "/usr/bin/docker-registry";
/** Each host's agent serves its metrics here, inside the host's namespace. */
export const AGENT_METRICS_PORT = 10249;

/** A bootstrap token in the kubeadm form `abcdef.0123456789abcdef`, which `kctl up` and `kctl join` take. */
export function newToken(): string {
  const hex = randomBytes(11).toString("hex");
  return `${hex.slice(0, 6)}.${hex.slice(6, 22)}`;
}

// Two levels up is dist/ when running built code and the repo root when running sources (vitest);
// either way the command the lab runs is the built dist/kctl/main.js.
const above = fileURLToPath(new URL("../..", import.meta.url));
const kctlMain = above.endsWith("/dist/") ? `${above}kctl/main.js` : `${above}dist/kctl/main.js`;

export function kctl(...args: string[]): string[] {
  return [process.execPath, kctlMain, ...args];
}

/**
 * `kctl join` with the agent's V8 young generation, as kctl-agent.service sets it: small, since an
 * agent's garbage is short-lived and a large young generation only grows its resident memory.
 */
export function kctlAgent(...args: string[]): string[] {
  return [process.execPath, "--max-semi-space-size=1", kctlMain, ...args];
}

/** `kctl up` with the control plane's V8 young generation, as kctl-server.service sets it. */
export function kctlControlPlane(...args: string[]): string[] {
  return [process.execPath, "--max-semi-space-size=32", kctlMain, ...args];
}

const quote = (args: string[]) => args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");

/**
 * A lab host's agent: first the images manifests/ use are put in its store (kctl.local/busybox:debian
 * and kctl.local/haproxy:debian, built from this machine's Debian packages, as no registry outside
 * is reachable), then `kctl join` runs as the same process, so the recorded pid is the agent's.
 */
export function hostAgentArgv(stateDir: string, join: string[]): string[] {
  const images = ["busybox", "haproxy"].map((name) => quote(kctl("image", name, "--state-dir", stateDir)));
  return ["sh", "-c", `${images.join(" >/dev/null && ")} >/dev/null && exec ${quote(join)}`];
}

/** Polls `check` every 200 ms until it returns true or `signal` aborts. */
export async function pollUntil(check: () => Promise<boolean>, signal: AbortSignal): Promise<void> {
  while (!(await check())) {
    if (signal.aborted) throw signal.reason;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** True when a TCP connection to `host:port` (from the root namespace) is accepted. */
export function acceptsTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
  });
}

interface NodeList {
  items?: { metadata?: { name?: string }; status?: { conditions?: { type?: string; status?: string }[] } }[];
}

/** True when `kctl get nodes` lists every lab node with condition Ready=True. */
export async function allNodesReady(ctx: LabContext, config: string): Promise<boolean> {
  const res = await runCommand(kctl("--config", config, "get", "nodes", "-o", "json"));
  if (res.code !== 0) return false;
  const list = JSON.parse(res.stdout) as NodeList;
  const ready = new Set(
    (list.items ?? [])
      .filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
      .map((n) => n.metadata?.name),
  );
  return ctx.nodes.every((n) => ready.has(n.name));
}

/** `kctl up` writes its admin config here (and to its `--config`, pointed at the same file). */
function adminConfig(ctx: LabContext): string {
  return `${ctx.stateDirOf(CONTROL_PLANE)}/admin.kubeconfig`;
}

const controlPlaneOnly: LabComponents = {
  profile: "controlplane",
  controlPlane: (ctx) => ({
    argv: kctlControlPlane(
      "--config",
      adminConfig(ctx),
      "up",
      "--state-dir",
      ctx.stateDirOf(CONTROL_PLANE),
      "--listen",
      ctx.addresses.gateway,
      "--advertise-address",
      ctx.addresses.gateway,
      "--port",
      String(ctx.apiPort),
      "--no-agent",
    ),
    // Tokens go through the environment, never argv, where any user of the host could read them.
    env: { KCTL_BOOTSTRAP_TOKEN: ctx.token },
  }),
  controlPlaneReady: (ctx, signal) => pollUntil(() => acceptsTcp(ctx.addresses.gateway, ctx.apiPort), signal),
  clientConfig: adminConfig,
};

/**
 * docker-registry with its storage in its state dir and its access log (one line per request, which
 * tests count pulls by) in the lab's logs; the config goes in through the environment so the
 * command alone says everything. With `htpasswd` (a file of `htpasswd -B` lines), every request
 * needs one of its logins, as a private registry's would.
 */
export function registryComponent(ctx: LabContext, options: { htpasswd?: string } = {}): ComponentSpec {
  const dir = ctx.stateDirOf(REGISTRY);
  const config = [
    "version: 0.1",
    "log:",
    "  level: info",
    "  formatter: text",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${dir}/data`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: ${ctx.registry}`,
    `  secret: ${ctx.token}`,
    ...(options.htpasswd
      ? ["auth:", "  htpasswd:", "    realm: kctl-lab", `    path: ${options.htpasswd}`]
      : []),
    "",
  ].join("\n");
  return {
    argv: [
      "sh",
      "-c",
      `printf %s "$KCTL_REGISTRY_CONFIG" > '${dir}/config.yml' && exec ${REGISTRY_BIN} serve '${dir}/config.yml'`,
    ],
    env: { KCTL_REGISTRY_CONFIG: config },
  };
}

/** The agents' registry settings: the lab registry is not on loopback, so plain HTTP is asked for. */
export function labRegistryConfig(ctx: LabContext): string {
  return `${JSON.stringify({ hosts: { [ctx.registry]: { plainHttp: true } } }, null, 2)}\n`;
}

const all: LabComponents = {
  ...controlPlaneOnly,
  profile: "all",
  registry: registryComponent,
  agent: (ctx, node) => {
    const stateDir = ctx.stateDirOf(node.name);
    const join = kctlAgent(
      "join",
      ctx.server,
      "--ca-file",
      `${ctx.stateDirOf(CONTROL_PLANE)}/pki/ca.crt`,
      "--node-name",
      node.name,
      "--state-dir",
      stateDir,
      "--address",
      node.address,
      "--metrics-address",
      `127.0.0.1:${AGENT_METRICS_PORT}`,
      "--registry-config",
      ctx.registryConfigFile,
    );
    return {
      argv: hostAgentArgv(stateDir, join),
      env: { KCTL_TOKEN: ctx.token },
    };
  },
  nodesReady: (ctx, signal) =>
    pollUntil(() => allNodesReady(ctx, controlPlaneOnly.clientConfig!(ctx)), signal),
};

const none: LabComponents = { profile: "none" };

const profiles: Record<string, LabComponents> = { all, controlplane: controlPlaneOnly, none };

export const PROFILE_NAMES = Object.keys(profiles);

/** The components of profile `name`; `field` names the flag in the error for an unknown one. */
export function componentsFor(name: string, field = "--components"): LabComponents {
  const found = profiles[name];
  if (!found) {
    throw new LabError(
      "InvalidArgument",
      `${field}: unknown profile "${name}" (one of: ${PROFILE_NAMES.join(", ")})`,
    );
  }
  return found;
}
