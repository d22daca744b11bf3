/**
 * A highly available control plane on the lab (`--control-planes 3`: control planes on node1..node3,
 * each beside a member of a 3-member etcd over TLS, HAProxy in front at the gateway): the leading
 * control plane is killed (SIGKILL) while a Deployment rolls out, and the rollout completes while
 * the API keeps answering, through kctl's multi-server kubeconfig (from a host) and through the
 * front (kctl and stock kubectl from the root namespace); the longest gap a client polling every
 * 100 ms saw is printed; the kubernetes and kube-dns Endpoints list every live control plane, drop
 * the killed one and take it back. Then an etcd member is killed and writes go on, it comes back and catches
 * up; and a snapshot restored into a new single-member etcd gives an object back.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startEtcdProcess } from "../controlplane/etcd/etcd-process.js";
import { controlPlaneOn, haComponents, multiServerConfig } from "../kctl/lab/ha-components.js";
import { readLabState } from "../kctl/lab/lab-state.js";
import { labContext } from "../kctl/lab/lab-up.js";
import { runCommand } from "../kctl/lab/run-command.js";
import { startGapPoller } from "./support/gap-poller-process.js";
import { kctlMain, type RunResult } from "./support/kctl-process.js";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";
import {
  controlPlaneState,
  etcdctl as etcdctlOn,
  etcdPid,
  leaderOf as leaderComponent,
  memberEndpoint,
  memberEndpoints,
} from "./support/lab-etcd.js";

const ns = "ha";
const deployment = `
apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: roll, namespace: ${ns}}
spec:
  replicas: 6
  # Each new pod counts as available 3 s after it runs, so the rollout takes a while: the kill
  # lands in the middle of it. (An exec readiness probe would do too, but flaps on a loaded host.)
  minReadySeconds: 3
  selector: {matchLabels: {app: roll}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: roll}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: kctl.local/busybox:debian
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`;

interface DeploymentStatus {
  metadata: { generation: number };
  spec: { replicas: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
  };
}

const rolledOut = (d: DeploymentStatus) =>
  d.status?.observedGeneration === d.metadata.generation &&
  d.status.updatedReplicas === d.spec.replicas &&
  d.status.replicas === d.spec.replicas &&
  d.status.availableReplicas === d.spec.replicas;

describe.skipIf(!isRoot)("a highly available control plane", { timeout: 600_000 }, () => {
  let lab: LabCluster;
  let scratch: string;
  /** The host kctl runs on with the multi-server kubeconfig: a worker without a control plane. */
  const client = "node4";

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "kctl-ha-"));
    // Three control planes and four agents importing images: slower to be ready than the usual lab.
    lab = await startLabCluster("ha", 4, haComponents(3), 240_000);
  }, 300_000);
  afterAll(downLab(() => lab));
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  const ctx = () => labContext(lab.state);
  const cpState = (node: string) => controlPlaneState(lab, node);
  /** kctl on a lab host with node1's kubeconfig, which lists all three apiservers. */
  const kctlOnHost = (...args: string[]): Promise<RunResult> =>
    lab.onNode(client, process.execPath, kctlMain, "--config", multiServerConfig(ctx(), "node1"), ...args);
  /** etcdctl on a lab host against every member, with node1's etcd client certificate. */
  const fromClient = { on: client, certsOf: "node1" };
  const etcdctl = (...args: string[]): Promise<RunResult> =>
    etcdctlOn(lab, fromClient, memberEndpoints(lab, 3), ...args);
  /** The pid of a component now (restarts record new pids in the state file, not in `lab.state`). */
  const pidOf = async (component: string): Promise<number> => {
    const state = await readLabState(lab.state.labDir);
    const record = state?.processes.find((p) => p.name === component);
    if (!record) throw new Error(`no component ${component} in lab ${lab.state.name}`);
    return record.pid;
  };
  /** The component of the control plane leading `lock`. */
  const leaderOf = (lock: string): Promise<string> =>
    leaderComponent(lab, fromClient, memberEndpoints(lab, 3), lock);
  const deploymentStatus = async (run: (...a: string[]) => Promise<RunResult>) => {
    const res = await run("get", "deployment", "roll", "-n", ns, "-o", "json");
    if (res.code !== 0) throw new Error(res.stderr);
    return JSON.parse(res.stdout) as DeploymentStatus;
  };

  /** The addresses a Service's Endpoints list, sorted. */
  const endpointAddresses = async (namespace: string, name: string): Promise<string> => {
    const res = await lab.kctl("get", "endpoints", name, "-n", namespace, "-o", "json");
    const eps = JSON.parse(res.stdout) as { subsets?: { addresses?: { ip: string }[] }[] };
    return (eps.subsets ?? [])
      .flatMap((s) => (s.addresses ?? []).map((a) => a.ip))
      .sort()
      .join(",");
  };
  const addressesOf = (nodes: string[]) =>
    lab.state.nodes
      .filter((n) => nodes.includes(n.name))
      .map((n) => n.address)
      .sort()
      .join(",");
  const controlPlaneNodes = () => lab.state.nodes.slice(0, 3).map((n) => n.name);
  /** The apiserver's and the cluster DNS's Endpoints both list the control planes at `want`. */
  const endpointsBecome = (want: string) =>
    eventually(
      `kubernetes and kube-dns Endpoints ${want}`,
      async () =>
        (await endpointAddresses("default", "kubernetes")) === want &&
        (await endpointAddresses("kube-system", "kube-dns")) === want
          ? true
          : undefined,
      60_000,
    );

  it("finishes a rollout and keeps answering when the leading control plane is killed", async () => {
    // Every live control plane is in the kubernetes and kube-dns Endpoints, not only the last to start.
    await endpointsBecome(addressesOf(controlPlaneNodes()));
    expect((await lab.apply(deployment)).code).toBe(0);
    await eventually(
      "roll available",
      async () => (rolledOut(await deploymentStatus(lab.kctl)) ? true : undefined),
      180_000,
    );

    const viaHosts = startGapPoller(
      multiServerConfig(ctx(), "node1"),
      lab.state.nodes.find((n) => n.name === client)!.namespace,
    );
    const viaFront = startGapPoller(lab.config);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await lab.kctl("rollout", "restart", "deployment/roll", "-n", ns)).code).toBe(0);
    // Let the rollout start, then kill the controller manager's leader in the middle of it.
    await eventually("rollout under way", async () => {
      const d = await deploymentStatus(lab.kctl);
      return d.status?.updatedReplicas && d.status.updatedReplicas < d.spec.replicas ? true : undefined;
    });
    const leader = await leaderOf("kube-controller-manager");
    const killedAt = Date.now();
    process.kill(await pidOf(leader), "SIGKILL");

    const newLeader = await eventually(
      "another control plane leads",
      async () => {
        const now = await leaderOf("kube-controller-manager").catch(() => undefined);
        return now && now !== leader ? now : undefined;
      },
      60_000,
    );
    const takeoverMs = Date.now() - killedAt;
    // Keep polling a while after the takeover, then report the gaps seen across the kill.
    await new Promise((r) => setTimeout(r, 15_000));
    const hosts = await viaHosts.stop();
    const front = await viaFront.stop();
    console.log(
      `HA: killed ${leader}; ${newLeader} leads after ${takeoverMs} ms; longest API gap polling every 100 ms: ` +
        `${hosts.maxGapMs} ms through kctl's multi-server kubeconfig (ok ${hosts.ok}, failed ${hosts.failed}, ended on ${hosts.server}), ` +
        `${front.maxGapMs} ms through HAProxy (ok ${front.ok}, failed ${front.failed})`,
    );
    await eventually(
      "the rollout completes",
      async () => (rolledOut(await deploymentStatus(kctlOnHost)) ? true : undefined),
      240_000,
    );
    expect(hosts.ok).toBeGreaterThan(0);
    expect(hosts.maxGapMs).toBeLessThan(10_000);
    expect(front.maxGapMs).toBeLessThan(10_000);

    // Stock kubectl through the front, and the rollout as kctl reports it.
    const kubectl = await runCommand([
      "kubectl",
      "--kubeconfig",
      lab.config,
      "get",
      "deployment",
      "roll",
      "-n",
      ns,
    ]);
    expect(kubectl.code).toBe(0);
    expect(kubectl.stdout).toMatch(/roll\s+6\/6/);
    // The killed control plane leaves the Endpoints once its 15 s lease runs out, and comes back with it.
    const killedNode = controlPlaneNodes().find((n) => controlPlaneOn(n) === leader)!;
    await endpointsBecome(addressesOf(controlPlaneNodes().filter((n) => n !== killedNode)));
    await lab.crashAndRestart(leader);
    await eventually(
      "the killed control plane serves again",
      async () =>
        (await readFile(join(lab.state.labDir, "logs", `${leader}.log`), "utf8")).match(
          /control plane ready/g,
        )?.length === 2
          ? true
          : undefined,
      120_000,
    );
    await endpointsBecome(addressesOf(controlPlaneNodes()));
  });

  it("keeps taking writes with one etcd member down, and the member catches up when it is back", async () => {
    const node = "node3";
    const component = controlPlaneOn(node);
    // The control plane first (it would start its member again at once), then the member itself.
    process.kill(await pidOf(component), "SIGKILL");
    process.kill(await etcdPid(lab, node), "SIGKILL");
    for (let i = 0; i < 5; i++) {
      const res = await kctlOnHost("create", "namespace", `while-down-${i}`);
      expect(res.code, res.stderr).toBe(0);
    }
    const health = await etcdctl("endpoint", "health");
    expect(health.stdout + health.stderr).toMatch(/is unhealthy|failed/);

    await lab.crashAndRestart(component);
    await eventually(
      "the member serves the writes made while it was down",
      async () => {
        // A serializable read answers from that member's own data.
        const res = await etcdctlOn(
          lab,
          { on: client, certsOf: node },
          [memberEndpoint(lab, node)],
          "get",
          "--prefix",
          "--keys-only",
          "--consistency=s",
          "/registry/",
        );
        return res.stdout.includes("while-down-4") ? true : undefined;
      },
      120_000,
    );
    const list = await lab.onNode(
      client,
      process.execPath,
      kctlMain,
      "etcd",
      "member",
      "list",
      "--state-dir",
      cpState("node1"),
    );
    expect(list.stdout.match(/\bstarted\b/g)?.length).toBe(3);
  });

  it("restores a snapshot into a new single-member etcd that gives an object back", async () => {
    const file = join(scratch, "snapshot.db");
    const save = await lab.onNode(
      client,
      process.execPath,
      kctlMain,
      "etcd",
      "snapshot",
      "save",
      file,
      "--state-dir",
      cpState("node1"),
    );
    expect(save.code, save.stderr).toBe(0);
    const peerPort = await freePort();
    const peer = `http://127.0.0.1:${peerPort}`;
    const dataDir = join(scratch, "restored");
    const restore = await runCommand([
      process.execPath,
      kctlMain,
      "etcd",
      "snapshot",
      "restore",
      file,
      "--data-dir",
      dataDir,
      "--name",
      "restored",
      "--initial-advertise-peer-urls",
      peer,
    ]);
    expect(restore.code, restore.stderr).toBe(0);
    const etcd = await startEtcdProcess({ dataDir, name: "restored", peerPort });
    const restored = new Etcd3({ hosts: etcd.endpoint });
    try {
      const keys = await restored.getAll().prefix("/registry/").keys();
      // The Namespace itself (its namespace also holds objects controllers made, e.g. kube-root-ca.crt).
      const key = keys.find((k) => k === "/registry/namespaces/while-down-2");
      expect(key).toBeDefined();
      expect(await restored.get(key!).string()).toContain('"name":"while-down-2"');
    } finally {
      restored.close();
      await etcd.stop();
    }
  });
});
