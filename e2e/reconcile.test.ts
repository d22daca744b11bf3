/**
 * The reconcile loops end to end on a real control plane (`startControlPlane`: etcd child, apiserver,
 * NodeService, scheduler and controllers under leader election) with hollow nodes standing in for
 * agents: spreading, scaling with `kctl scale`, rolling updates checked against maxSurge and
 * maxUnavailable at every state the pod watch shows, stalled and failed rollouts, automatic and
 * `kctl rollout undo` rollbacks, `kctl drain`, cascading delete, node loss, and leader hand-over between two
 * control planes sharing one etcd. kctl runs as the built CLI (`npm run build:ts` first).
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "../controlplane/control-plane.js";
import { startEtcd } from "../controlplane/testing/etcd-server.js";
import { neverReadyImages } from "../controlplane/testing/hollow-node.js";
import { type HollowFleet, startHollowFleet } from "../controlplane/testing/hollow-node-fleet.js";
import { resourceForKind } from "../foundation/api/resources.js";
import { ApiClient } from "../kctl/client.js";
import { writeConfig } from "../kctl/config.js";
import type { Deployment, Event, Node, Pod, ReplicaSet } from "../proto/gen/api.js";
import { eventually } from "./support/eventually.js";
import { type Background, kctl, kctlBackground, requireBuild } from "./support/kctl-process.js";

const deployments = resourceForKind("apps/v1", "Deployment")!;
const replicaSets = resourceForKind("apps/v1", "ReplicaSet")!;
const pods = resourceForKind("v1", "Pod")!;
const nodes = resourceForKind("v1", "Node")!;
const events = resourceForKind("v1", "Event")!;
const ns = "default";
const broken = "web:broken";

interface Rollout {
  replicas: number;
  image: string;
  maxSurge?: number | string;
  maxUnavailable?: number | string;
  progressDeadlineSeconds?: number;
  annotations?: Record<string, string>;
}

function deployment(name: string, r: Rollout): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, ...(r.annotations ? { annotations: r.annotations } : {}) },
    spec: {
      replicas: r.replicas,
      selector: { matchLabels: { app: name } },
      strategy: {
        type: "RollingUpdate",
        rollingUpdate: {
          ...(r.maxSurge !== undefined ? { maxSurge: r.maxSurge } : {}),
          ...(r.maxUnavailable !== undefined ? { maxUnavailable: r.maxUnavailable } : {}),
        },
      },
      ...(r.progressDeadlineSeconds ? { progressDeadlineSeconds: r.progressDeadlineSeconds } : {}),
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            { name: "app", image: r.image, resources: { requests: { cpu: "100m", memory: "64Mi" } } },
          ],
        },
      },
    },
  } as Deployment;
}

const live = (p: Pod) => !p.metadata?.deletionTimestamp;
const ready = (p: Pod) =>
  p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
const imageOf = (p: Pod) => p.spec?.containers?.[0]?.image;

/** Every state of one app's pods as the watch delivers it, each checked by `check` (which returns a violation or undefined). */
class PodObserver {
  readonly pods = new Map<string, Pod>();
  readonly violations: string[] = [];
  states = 0;
  private readonly stop = new AbortController();
  private readonly client: ApiClient;
  private done: Promise<void> = Promise.resolve();

  constructor(
    access: ConstructorParameters<typeof ApiClient>[0],
    private readonly app: string,
    private readonly check: (pods: Pod[]) => string | undefined,
  ) {
    this.client = new ApiClient(access, this.stop.signal);
  }

  async start(): Promise<void> {
    const list = await this.client.list(pods, ns, { labelSelector: `app=${this.app}` });
    for (const p of list.items as Pod[]) this.pods.set(p.metadata!.uid!, p);
    this.observe();
    this.done = (async () => {
      for await (const e of this.client.watch(pods, ns, {
        labelSelector: `app=${this.app}`,
        resourceVersion: list.metadata.resourceVersion!,
      })) {
        const p = e.object as Pod;
        if (e.type === "BOOKMARK") continue;
        if (e.type === "DELETED") this.pods.delete(p.metadata!.uid!);
        else this.pods.set(p.metadata!.uid!, p);
        this.observe();
      }
    })();
  }

  private observe(): void {
    this.states++;
    const v = this.check([...this.pods.values()]);
    if (v) this.violations.push(`state ${this.states}: ${v}`);
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.done.catch(() => undefined);
    this.client.close();
  }
}

/** The bounds of a rolling update: pods not terminating ≤ replicas+maxSurge, available ≥ replicas−maxUnavailable. */
function rollingBounds(most: number, least: number) {
  return (all: Pod[]) => {
    const running = all.filter(live);
    const available = running.filter(ready);
    if (running.length > most) return `${running.length} pods not terminating (at most ${most})`;
    if (available.length < least) return `${available.length} pods available (at least ${least})`;
    return undefined;
  };
}

describe("reconcile loops with hollow nodes", () => {
  let dir: string;
  let plane: ControlPlane;
  let fleet: HollowFleet;
  let api: ApiClient;
  let access: ConstructorParameters<typeof ApiClient>[0];
  let config: string;
  const run = (...args: string[]) => kctl(args, { config, timeoutMs: 60_000 });

  const podsOf = async (app: string) =>
    (await api.list(pods, ns, { labelSelector: `app=${app}` })).items as Pod[];
  /** Resolves once the app has exactly `n` pods, all live, Ready and (when given) running `image`. */
  const settled = (app: string, n: number, image?: string) =>
    eventually(`${app}: ${n} ready pods${image ? ` of ${image}` : ""}`, async () => {
      const all = await podsOf(app);
      const ok =
        all.length === n && all.every((p) => live(p) && ready(p) && (!image || imageOf(p) === image));
      return ok ? all : undefined;
    });
  const create = (name: string, r: Rollout) => api.create(deployments, ns, deployment(name, r));
  const setImage = (name: string, image: string) =>
    api.patch(deployments, ns, name, {
      spec: { template: { spec: { containers: [{ name: "app", image }] } } },
    });

  beforeAll(async () => {
    requireBuild();
    dir = await mkdtemp(join(tmpdir(), "kctl-reconcile-"));
    plane = await startControlPlane({
      stateDir: join(dir, "state"),
      port: 0,
      listenHost: "127.0.0.1",
      leaderElectionTtlSeconds: 2,
      leaseDurationSeconds: 4,
      nodeEvictionTimeoutSeconds: 4,
    });
    config = join(dir, "config");
    await writeConfig(config, { server: plane.apiUrl, caPem: plane.caPem, token: plane.adminToken });
    access = {
      server: plane.apiUrl,
      caPem: plane.caPem,
      token: plane.adminToken,
      insecureSkipTlsVerify: false,
      namespace: ns,
      path: config,
    };
    api = new ApiClient(access);
    fleet = await startHollowFleet({
      stateDir: join(dir, "state"),
      nodeServiceAddress: plane.nodeServiceAddress,
      nodes: 4,
      behaviour: { readyAfterMs: 200, becomesReady: neverReadyImages([broken]) },
    });
  });

  afterAll(async () => {
    fleet?.stop();
    api?.close();
    await plane?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("spreads 3 replicas over 3 nodes and reports the rollout done", async () => {
    await create("web", { replicas: 3, image: "web:v1" });
    const all = await settled("web", 3, "web:v1");
    expect(new Set(all.map((p) => p.spec?.nodeName)).size).toBe(3);
    const status = await run("rollout", "status", "deployment/web", "--timeout", "30s");
    expect(status.stdout).toContain('deployment "web" successfully rolled out');
    expect(status.code).toBe(0);
  });

  it("scales up and down with kctl scale, and refuses bad input", async () => {
    const up = await run("scale", "deployment/web", "--replicas", "5");
    expect(up).toMatchObject({ code: 0, stdout: "deployment.apps/web scaled\n" });
    await settled("web", 5);
    expect((await run("scale", "deploy", "web", "--replicas", "1")).code).toBe(0);
    await settled("web", 1);

    await api.create(replicaSets, ns, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "solo" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "solo" } },
        template: {
          metadata: { labels: { app: "solo" } },
          spec: { containers: [{ name: "app", image: "solo:1" }] },
        },
      },
    });
    await settled("solo", 1);
    expect((await run("scale", "rs/solo", "--replicas", "2")).stdout).toBe("replicaset.apps/solo scaled\n");
    await settled("solo", 2);

    const missing = await run("scale", "deployment/nope", "--replicas", "2");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(
      /^Error from server \(NotFound\): [Dd]eployments?\.apps "nope" not found\n$/,
    );
    const negative = await run("scale", "deployment/web", "--replicas", "-1");
    expect(negative.code).not.toBe(0);
    expect(negative.stderr).toBe("error: --replicas: must be 0 or more, got -1\n");
    const stale = await run("scale", "deployment/web", "--replicas", "3", "--current-replicas", "7");
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toMatch(
      /^error: --current-replicas: deployment.apps\/web has 1 replicas, not 7; not scaled\n$/,
    );
    const wrongKind = await run("scale", "pod/x", "--replicas", "1");
    expect(wrongKind.code).not.toBe(0);
    expect(wrongKind.stderr.split("\n")[0]).toBe(
      'error: scale: "pod" is not a deployment or replicaset (it is a pod); scale works on deployments and replicasets',
    );
  });

  it("drains a node: its pods come back on the other nodes, and none land on it until uncordoned", async () => {
    expect((await run("scale", "deployment/web", "--replicas", "4")).code).toBe(0);
    const before = await settled("web", 4);
    const node = before[0]!.spec!.nodeName!;
    const drained = await run("drain", node, "--timeout", "60s");
    expect(drained.stderr).toBe("");
    expect(drained.stdout).toMatch(new RegExp(`^node/${node} cordoned\n[^]*node/${node} drained\n$`));
    const after = await settled("web", 4);
    expect(after.filter((p) => p.spec?.nodeName === node)).toEqual([]);
    expect((await podsOf("solo")).filter((p) => p.spec?.nodeName === node)).toEqual([]);
    expect(((await api.get(nodes, undefined, node)) as Node).spec?.unschedulable).toBe(true);
    const cordonTaint = async () =>
      ((await api.get(nodes, undefined, node)) as Node).spec?.taints?.some(
        (t) => t.key === "node.kubernetes.io/unschedulable" && t.effect === "NoSchedule",
      );
    await eventually("the unschedulable taint", async () => (await cordonTaint()) || undefined);
    expect((await run("uncordon", node)).stdout).toBe(`node/${node} uncordoned\n`);
    await eventually("the unschedulable taint gone", async () => !(await cordonTaint()) || undefined);
    expect((await run("scale", "deployment/web", "--replicas", "1")).code).toBe(0);
    await settled("web", 1);
  });

  it("rolls an image change within maxSurge and maxUnavailable at every observed state, then undoes it", async () => {
    // replicas=4, maxSurge=1, maxUnavailable=1: at most 5 pods, at least 3 available, at every state.
    await create("roll", { replicas: 4, image: "web:v1", maxSurge: 1, maxUnavailable: 1 });
    await settled("roll", 4, "web:v1");
    const observer = new PodObserver(access, "roll", rollingBounds(5, 3));
    await observer.start();
    try {
      const set = await run("set", "image", "deployment/roll", "app=web:v2");
      expect(set).toMatchObject({ code: 0, stdout: "deployment.apps/roll image updated\n" });
      await settled("roll", 4, "web:v2");
    } finally {
      await observer.close();
    }
    expect(observer.violations).toEqual([]);
    // 4 new pods created, scheduled, Running, Ready; 4 old ones marked and removed: many states.
    expect(observer.states).toBeGreaterThan(16);

    const history = await run("rollout", "history", "deployment/roll");
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(
      /^deployment.apps\/roll\nREVISION {2}CHANGE-CAUSE\n1 {9}<none>\n2 {9}<none>\n$/,
    );

    const undo = await run("rollout", "undo", "deployment/roll");
    expect(undo).toMatchObject({ code: 0, stdout: "deployment.apps/roll rolled back to revision 1\n" });
    await settled("roll", 4, "web:v1");
    const d = (await api.get(deployments, ns, "roll")) as Deployment;
    expect(d.metadata?.annotations?.["deployment.kubernetes.io/revision"]).toBe("3");
    const shown = await run("rollout", "history", "deployment/roll", "--revision", "3");
    expect(shown.stdout).toContain("image: web:v1");

    const noSuch = await run("rollout", "undo", "deployment/roll", "--to-revision", "7");
    expect(noSuch.code).not.toBe(0);
    expect(noSuch.stderr).toBe('error: deployment "roll" has no revision 7 (revisions: 2, 3)\n');
    const unknown = await run("rollout", "status", "deployment/nope");
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(
      /^Error from server \(NotFound\): [Dd]eployments?\.apps "nope" not found\n$/,
    );
  });

  it("refuses kctl set image's bad input without writing anything", async () => {
    const before = (await api.get(deployments, ns, "roll")) as Deployment;
    const cases: [string[], RegExp][] = [
      [
        ["deployment/roll", "app=web:v9", "sidecar=x:1"],
        /^error: unable to find container named "sidecar" in deployment.apps\/roll \(it has app\)\n$/,
      ],
      [["deployment/roll"], /^error: set image: give at least one CONTAINER=IMAGE/],
      [
        ["deployment/roll", "web:v9"],
        /^error: set image: "web:v9" is not CONTAINER=IMAGE; name the container, e\.g\. web=web:v9\n/,
      ],
      [["deployment/roll", "app="], /^error: set image: "app=" is not CONTAINER=IMAGE\n/],
      [
        ["service/roll", "app=web:v9"],
        /^error: set image: "service" is not a deployment, replicaset, daemonset or pod/,
      ],
      [
        ["deployment/nope", "app=web:v9"],
        /^Error from server \(NotFound\): [Dd]eployments?\.apps "nope" not found\n$/,
      ],
    ];
    for (const [args, stderr] of cases) {
      const r = await run("set", "image", ...args);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr).toMatch(stderr);
    }
    const same = await run("set", "image", "deployment/roll", "*=web:v1");
    expect(same).toMatchObject({ code: 0, stdout: "deployment.apps/roll image unchanged\n" });
    const after = (await api.get(deployments, ns, "roll")) as Deployment;
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
  });

  it("stalls a maxUnavailable=0 rollout whose new pods never become Ready, keeping every old pod", async () => {
    await create("stall", {
      replicas: 3,
      image: "web:v1",
      maxSurge: 1,
      maxUnavailable: 0,
      progressDeadlineSeconds: 600,
    });
    await settled("stall", 3, "web:v1");
    const observer = new PodObserver(access, "stall", rollingBounds(4, 3));
    await observer.start();
    try {
      await setImage("stall", broken);
      await eventually("a running pod of the broken version", async () =>
        (await podsOf("stall")).find((p) => imageOf(p) === broken && p.status?.phase === "Running"),
      );
      const status = await run("rollout", "status", "deployment/stall", "--timeout", "3s");
      expect(status.code).not.toBe(0);
      expect(status.stdout).toContain(
        'Waiting for deployment "stall" rollout to finish: 1 out of 3 new replicas have been updated...',
      );
      expect(status.stderr).toBe("error: timed out after 3s waiting for deployment.apps/stall to roll out\n");
      const all = await podsOf("stall");
      expect(all.filter((p) => imageOf(p) === "web:v1" && live(p) && ready(p))).toHaveLength(3);
      expect(all.filter((p) => imageOf(p) === broken)).toHaveLength(1);

      expect((await run("rollout", "pause", "deployment/stall")).stdout).toBe(
        "deployment.apps/stall paused\n",
      );
      const again = await run("rollout", "pause", "deployment/stall");
      expect(again).toMatchObject({ code: 1, stderr: "error: deployment.apps/stall is already paused\n" });
      const restart = await run("rollout", "restart", "deployment/stall");
      expect(restart.code).toBe(1);
      expect(restart.stderr).toContain("can't restart paused deployment.apps/stall");
      const undoPaused = await run("rollout", "undo", "deployment/stall");
      expect(undoPaused.code).toBe(1);
      expect(undoPaused.stderr).toContain("you cannot rollback a paused deployment");
      expect((await run("rollout", "resume", "deployment/stall")).stdout).toBe(
        "deployment.apps/stall resumed\n",
      );

      expect((await run("rollout", "undo", "deployment/stall")).code).toBe(0);
      await settled("stall", 3, "web:v1");
    } finally {
      await observer.close();
    }
    expect(observer.violations).toEqual([]);

    expect((await run("rollout", "restart", "deployment/stall")).stdout).toBe(
      "deployment.apps/stall restarted\n",
    );
    const done = await run("rollout", "status", "deployment/stall", "--timeout", "90s");
    expect(done.stdout).toContain('deployment "stall" successfully rolled out');
    const restarted = await settled("stall", 3, "web:v1");
    expect(restarted.every((p) => p.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"])).toBe(true);
  });

  it("marks a missed progress deadline, fails rollout status, and rolls back when opted in", async () => {
    await create("late", { replicas: 2, image: "web:v1", progressDeadlineSeconds: 2 });
    await create("auto", {
      replicas: 2,
      image: "web:v1",
      progressDeadlineSeconds: 2,
      annotations: { "kctl.io/auto-rollback": "true" },
    });
    await Promise.all([settled("late", 2, "web:v1"), settled("auto", 2, "web:v1")]);
    // The controller stamps a completed rollout; auto-rollback goes back only to such a revision.
    for (const name of ["late", "auto"]) {
      expect((await run("rollout", "status", `deployment/${name}`, "--timeout", "20s")).code).toBe(0);
    }
    await Promise.all([setImage("late", broken), setImage("auto", broken)]);

    const status = await run("rollout", "status", "deployment/late", "--timeout", "30s");
    expect(status.code).not.toBe(0);
    expect(status.stderr).toBe('error: deployment "late" exceeded its progress deadline\n');
    const late = (await api.get(deployments, ns, "late")) as Deployment;
    expect(late.status?.conditions?.find((c) => c.type === "Progressing")).toMatchObject({
      status: "False",
      reason: "ProgressDeadlineExceeded",
    });
    expect((await podsOf("late")).filter((p) => imageOf(p) === "web:v1" && live(p) && ready(p))).toHaveLength(
      2,
    );

    await settled("auto", 2, "web:v1");
    const auto = (await api.get(deployments, ns, "auto")) as Deployment;
    expect(auto.spec?.template?.spec?.containers?.[0]?.image).toBe("web:v1");
    const rollback = await eventually("a DeploymentRollback event", async () =>
      ((await api.list(events, ns, { fieldSelector: "involvedObject.name=auto" })).items as Event[]).find(
        (e) => e.reason === "DeploymentRollback",
      ),
    );
    expect(rollback.message).toContain("missed its progress deadline of 2s");
  });

  it("deletes a Deployment's ReplicaSets and pods with it (cascading delete)", async () => {
    const rs = (await api.list(replicaSets, ns)).items as ReplicaSet[];
    expect(rs.some((r) => r.metadata?.ownerReferences?.[0]?.name === "roll")).toBe(true);
    const del = await run("delete", "deployment/roll");
    expect(del.code).toBe(0);
    await eventually("roll's ReplicaSets and pods gone", async () => {
      const left = ((await api.list(replicaSets, ns)).items as ReplicaSet[]).filter(
        (r) => r.metadata?.ownerReferences?.[0]?.name === "roll",
      );
      return left.length === 0 && (await podsOf("roll")).length === 0 ? true : undefined;
    });
  });

  it("replaces the pods of a node that stops renewing its lease on other nodes", async () => {
    const before = await settled("stall", 3);
    const victim = before[0]!.spec!.nodeName!;
    fleet.byName(victim).kill();
    await eventually(
      `stall's pods replaced away from ${victim}`,
      async () => {
        const all = (await podsOf("stall")).filter(live);
        return all.length === 3 && all.every((p) => ready(p) && p.spec?.nodeName !== victim)
          ? all
          : undefined;
      },
      45_000,
    );
    const node = (await api.get(nodes, undefined, victim)) as Node;
    expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).not.toBe("True");
    expect(node.spec?.taints?.map((t) => t.key)).toContain("node.kubernetes.io/unreachable");
  });
});

describe("leader hand-over between two control planes sharing one etcd", () => {
  let dir: string;
  let etcd: Awaited<ReturnType<typeof startEtcd>>;
  let first: Background | undefined;
  let second: ControlPlane | undefined;
  let fleet: HollowFleet | undefined;
  let api: ApiClient | undefined;

  beforeAll(async () => {
    requireBuild();
    dir = await mkdtemp(join(tmpdir(), "kctl-handover-"));
    etcd = await startEtcd();
  });
  afterAll(async () => {
    fleet?.stop();
    api?.close();
    await first?.stop(2_000);
    await second?.stop();
    await etcd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("moves scheduling and controllers to the survivor when the leader is killed", async () => {
    const config = join(dir, "config");
    const firstState = join(dir, "first");
    first = kctlBackground(
      [
        "up",
        "--no-agent",
        "--port",
        "0",
        "--listen",
        "127.0.0.1",
        "--state-dir",
        firstState,
        "--etcd-endpoints",
        etcd.endpoint,
      ],
      { config },
    );
    await first.waitFor(/control plane ready/);
    // The second control plane shares the cluster's CA and admin token, as a real replica would.
    const secondState = join(dir, "second");
    await cp(join(firstState, "pki"), join(secondState, "pki"), { recursive: true });
    second = await startControlPlane({
      stateDir: secondState,
      port: 0,
      listenHost: "127.0.0.1",
      etcdEndpoints: [etcd.endpoint],
      leaderElectionTtlSeconds: 5,
    });
    api = new ApiClient({
      server: second.apiUrl,
      caPem: second.caPem,
      token: second.adminToken,
      insecureSkipTlsVerify: false,
      namespace: ns,
      path: config,
    });
    fleet = await startHollowFleet({
      stateDir: secondState,
      nodeServiceAddress: second.nodeServiceAddress,
      nodes: 2,
    });
    const readyPods = (app: string) =>
      eventually(
        `${app}: 2 ready pods`,
        async () => {
          const all = (await api!.list(pods, ns, { labelSelector: `app=${app}` })).items as Pod[];
          return all.length === 2 && all.every(ready) ? all : undefined;
        },
        40_000,
      );

    // The first control plane started first, so it leads; the second only serves the API.
    const leaders = new Etcd3({ hosts: etcd.endpoint });
    const lock = (name: string) => leaders.get(`/kctl/leader-election/${name}`).string();
    try {
      const firstIdentity = `${hostname()}_${first.child.pid}`;
      expect(
        await eventually(
          "the first control plane to lead",
          async () => (await lock("kube-scheduler")) ?? undefined,
        ),
      ).toBe(firstIdentity);
      expect(await lock("kube-controller-manager")).toBe(firstIdentity);
    } finally {
      leaders.close();
    }
    await api.create(deployments, ns, deployment("before", { replicas: 2, image: "web:v1" }));
    await readyPods("before");

    first.child.kill("SIGKILL");
    await first.stop(2_000);
    await api.create(deployments, ns, deployment("after", { replicas: 2, image: "web:v1" }));
    const after = await readyPods("after");
    expect(after.every((p) => p.spec?.nodeName?.startsWith("hollow-"))).toBe(true);
  });
});
