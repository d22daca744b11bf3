/**
 * `kctl lab up --control-planes K`: the `all` profile with K control planes instead of one. Control
 * plane I runs on host nodeI (I = 1..K, beside that host's agent, as kubeadm's stacked control
 * planes), as `kctl up` with a member of a K-member etcd (`--etcd-initial-cluster`, peer and client
 * TLS). They share one cluster CA, etcd CA and admin token, which the lab makes before they start,
 * as an operator copies `pki/` to each host (the other way, `kctl up --join-control-plane`, is
 * tested on its own). HAProxy (Debian's `haproxy`) in the lab namespace fronts the apiservers at
 * the gateway, `https://10.k.0.1:6443`, which is what kctl and kubectl use from the root namespace
 * (the lab config); agents and the control planes' own kubeconfigs carry every control plane's
 * address and fail over themselves.
 */
import { randomBytes } from "node:crypto";
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { etcdCaName, etcdPkiDir } from "../../controlplane/etcd/etcd-pki.js";
import { ensureCa, ensureServiceAccountKey } from "../../foundation/pki/pki.js";
import { writeConfig } from "../config.js";
import {
  AGENT_METRICS_PORT,
  acceptsTcp,
  allNodesReady,
  componentsFor,
  hostAgentArgv,
  kctlAgent,
  kctlControlPlane,
  type LabComponents,
  type LabContext,
  type PlacedComponent,
  pollUntil,
  registryComponent,
} from "./components.js";
import { LabError } from "./errors.js";
import type { LabNode } from "./lab-state.js";
import { componentLogFile } from "./lab-state.js";

export const FRONT = "front";
export const HAPROXY_BIN = "/usr/sbin/haproxy";
const ETCD_PEER_PORT = 2380;

/** The component name of the control plane on `node`. */
export const controlPlaneOn = (node: string) => `controlplane-${node}`;

/** The front config kctl and kubectl use from the root namespace. */
const frontConfig = (ctx: LabContext) => join(ctx.labDir, "admin.kubeconfig");

/** Each control plane's own kubeconfig: its apiserver first, then the others (use it on a lab host). */
export const multiServerConfig = (ctx: LabContext, node: string) =>
  join(ctx.stateDirOf(controlPlaneOn(node)), "admin.kubeconfig");

function controlPlaneNodes(ctx: LabContext, count: number): LabNode[] {
  if (ctx.nodes.length < count) {
    throw new LabError(
      "InvalidArgument",
      `--control-planes ${count} needs at least ${count} hosts (--nodes ${ctx.nodes.length})`,
    );
  }
  return ctx.nodes.slice(0, count);
}

/** The HAProxy config: TCP to every apiserver, a refused connect retried on another at once. */
export function haproxyConfig(ctx: LabContext, nodes: readonly LabNode[]): string {
  return [
    "global",
    "  maxconn 2000",
    "defaults",
    "  mode tcp",
    "  timeout connect 1s",
    "  timeout client 1h",
    "  timeout server 1h",
    "  retries 3",
    "  option redispatch 1",
    "frontend apiserver",
    `  bind ${ctx.addresses.gateway}:${ctx.apiPort}`,
    "  default_backend controlplanes",
    "backend controlplanes",
    "  balance roundrobin",
    "  default-server inter 500ms fall 2 rise 2",
    ...nodes.map((n) => `  server ${n.name} ${n.address}:${ctx.apiPort} check`),
    "",
  ].join("\n");
}

/** Makes the keys every control plane shares once, in each one's state dir, and the front config. */
async function sharePki(ctx: LabContext, nodes: readonly LabNode[]): Promise<void> {
  const first = join(ctx.stateDirOf(controlPlaneOn(nodes[0]!.name)), "pki");
  await mkdir(first, { recursive: true, mode: 0o700 });
  const ca = await ensureCa(first);
  await ensureCa(etcdPkiDir(first), etcdCaName);
  await ensureServiceAccountKey(first);
  const tokenFile = join(first, "admin-token");
  const token = await readFile(tokenFile, "utf8").catch(async () => {
    const made = randomBytes(32).toString("base64url");
    await writeFile(tokenFile, `${made}\n`, { mode: 0o600 });
    return made;
  });
  for (const n of nodes.slice(1)) {
    const dir = ctx.stateDirOf(controlPlaneOn(n.name));
    await mkdir(dir, { recursive: true, mode: 0o711 });
    await cp(first, join(dir, "pki"), { recursive: true, force: false, errorOnExist: false });
  }
  await writeConfig(frontConfig(ctx), { server: ctx.server, caPem: ca.certPem, token: token.trim() });
}

function controlPlaneSpec(ctx: LabContext, node: LabNode, nodes: readonly LabNode[]): PlacedComponent {
  const stateDir = ctx.stateDirOf(controlPlaneOn(node.name));
  const initial = nodes.map((n) => `${n.name}=https://${n.address}:${ETCD_PEER_PORT}`).join(",");
  return {
    name: controlPlaneOn(node.name),
    node,
    spec: {
      argv: kctlControlPlane(
        "--config",
        join(stateDir, "admin.kubeconfig"),
        "up",
        "--state-dir",
        stateDir,
        "--listen",
        node.address,
        // The host's address first (etcd, NodeService and the API are reached there); the gateway's
        // too, since clients reach every apiserver through the front at that address.
        "--advertise-address",
        node.address,
        "--advertise-address",
        ctx.addresses.gateway,
        "--port",
        String(ctx.apiPort),
        "--no-agent",
        "--etcd-name",
        node.name,
        "--etcd-initial-cluster",
        initial,
      ),
      env: { KCTL_BOOTSTRAP_TOKEN: ctx.token },
    },
  };
}

function frontSpec(ctx: LabContext, nodes: readonly LabNode[]): PlacedComponent {
  const file = join(ctx.stateDirOf(FRONT), "haproxy.cfg");
  return {
    name: FRONT,
    spec: {
      argv: [
        "sh",
        "-c",
        `printf %s "$KCTL_HAPROXY_CONFIG" > '${file}' && exec ${HAPROXY_BIN} -db -f '${file}'`,
      ],
      env: { KCTL_HAPROXY_CONFIG: haproxyConfig(ctx, nodes) },
    },
  };
}

/** Every control plane printed that it serves, and the front accepts connections. */
async function controlPlanesReady(ctx: LabContext, nodes: readonly LabNode[]): Promise<boolean> {
  for (const n of nodes) {
    const log = await readFile(componentLogFile(ctx.labDir, controlPlaneOn(n.name)), "utf8").catch(() => "");
    if (!log.includes("control plane ready")) return false;
  }
  return acceptsTcp(ctx.addresses.gateway, ctx.apiPort);
}

/** The `all` profile with `count` control planes (count >= 2). */
export function haComponents(count: number): LabComponents {
  return {
    profile: `all-ha${count}`,
    prepare: (ctx) => sharePki(ctx, controlPlaneNodes(ctx, count)),
    controlPlaneComponents: (ctx) => {
      const nodes = controlPlaneNodes(ctx, count);
      return [...nodes.map((n) => controlPlaneSpec(ctx, n, nodes)), frontSpec(ctx, nodes)];
    },
    controlPlaneReady: (ctx, signal) =>
      pollUntil(() => controlPlanesReady(ctx, controlPlaneNodes(ctx, count)), signal),
    registry: registryComponent,
    agent: (ctx, node) => {
      const nodes = controlPlaneNodes(ctx, count);
      const stateDir = ctx.stateDirOf(node.name);
      const join = kctlAgent(
        "join",
        nodes.map((n) => `https://${n.address}:${ctx.apiPort}`).join(","),
        "--ca-file",
        `${ctx.stateDirOf(controlPlaneOn(nodes[0]!.name))}/pki/ca.crt`,
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
    nodesReady: (ctx, signal) => pollUntil(() => allNodesReady(ctx, frontConfig(ctx)), signal),
    clientConfig: frontConfig,
  };
}

/** `--control-planes N` for the `all` profile: 1 is the plain profile. */
export function componentsWithControlPlanes(profile: string, count: number): LabComponents {
  if (!Number.isInteger(count) || count < 1 || count > 7) {
    throw new LabError("InvalidArgument", `--control-planes: want 1 to 7, got ${count}`);
  }
  if (count === 1) return componentsFor(profile);
  if (profile !== "all") {
    throw new LabError("InvalidArgument", `--control-planes ${count} works with --components all only`);
  }
  return haComponents(count);
}
