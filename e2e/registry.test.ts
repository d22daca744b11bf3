/**
 * The lab's image registry on a two-host lab: `kctl lab up` runs Debian's docker-registry at the
 * gateway and gives every agent a registry config for it; `kctl image push` puts the busybox image
 * there from the root namespace, and each host pulls it through the agents' config file (into a
 * scratch store, the agents' own stores are left alone) exactly once, as the registry's access log
 * shows; a Deployment by that name (imagePullPolicy Always) runs on every host, each host
 * pulling it once (the layer it already holds is not downloaded again); a pod with a tag the registry lacks waits as ErrImagePull, then
 * ImagePullBackOff, and `kctl image pull` of it fails in one line. `lab down` removes the registry.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentLogFile } from "../kctl/lab/lab-state.js";
import { labContext } from "../kctl/lab/lab-up.js";
import { runCommand } from "../kctl/lab/run-command.js";
import { kctlMain } from "./support/kctl-process.js";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

describe.skipIf(!isRoot)("lab image registry (root)", () => {
  let lab: LabCluster | undefined;
  let scratch: string;
  const kctlIn = (...argv: string[]) => [process.execPath, kctlMain, ...argv];

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "kctl-e2e-registry-"));
    lab = await startLabCluster("reg", 2);
  }, 180_000);
  afterAll(downLab(() => lab));
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it("serves pushes from the root and pulls from every host, each host pulling once", async () => {
    const { state } = lab!;
    expect(state.registry).toBe(`${state.addresses!.gateway}:5000`);
    const remote = `${state.registry}/kctl/busybox:debian`;
    const local = join(scratch, "root-store");
    const busybox = await runCommand(kctlIn("image", "busybox", "--state-dir", local));
    expect(busybox.stderr).toBe("");
    const pushed = await runCommand(
      kctlIn("image", "push", "kctl.local/busybox:debian", remote, "--plain-http", "--state-dir", local),
    );
    expect(pushed.stderr).toBe("");
    expect(pushed.stdout).toMatch(/pushed \(sha256:\w+\): 2 blobs uploaded/);

    const configFile = labContext(state).registryConfigFile;
    for (const node of state.nodes) {
      const pulled = await lab!.onNode(
        node.name,
        ...kctlIn(
          "image",
          "pull",
          remote,
          "--registry-config",
          configFile,
          "--state-dir",
          join(scratch, node.name),
        ),
      );
      expect(pulled.stderr, node.name).toBe("");
      expect(pulled.stdout).toMatch(new RegExp(`^image/${remote.replace(/\./g, "\\.")} pulled`));
    }

    // The access log names the client: one layer download per host, from that host's address.
    const log = await readFile(componentLogFile(state.labDir, "registry"), "utf8");
    const layerGets = [
      ...log.matchAll(/^(\S+) - .*"GET \/v2\/kctl\/busybox\/blobs\/sha256:\w+ HTTP\/1\.1" 200 (\d+)/gm),
    ]
      .filter((m) => Number(m[2]) > 100_000)
      .map((m) => m[1]);
    expect(layerGets.sort()).toEqual(state.nodes.map((n) => n.address).sort());
  });

  it("runs a Deployment by its registry name on every host, each host pulling it once", async () => {
    const { state } = lab!;
    const image = `${state.registry}/kctl/busybox:debian`;
    // Each host has the layer already (the lab imported the same busybox build into every agent),
    // so a pull there downloads the manifest and config only: count manifest reads by client.
    const manifestGets = async () =>
      [
        ...(await readFile(componentLogFile(state.labDir, "registry"), "utf8")).matchAll(
          /^(\S+) - .*"GET \/v2\/kctl\/busybox\/manifests\/debian HTTP\/1\.1" 200 /gm,
        ),
      ].map((m) => m[1]);
    const before = (await manifestGets()).length;
    const replicas = state.nodes.length;
    const applied = await lab!.apply(`apiVersion: v1
kind: Namespace
metadata:
  name: reg
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: pulled
  namespace: reg
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: pulled}
  template:
    metadata:
      labels: {app: pulled}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector:
              matchLabels: {app: pulled}
            topologyKey: kubernetes.io/hostname
      containers:
      - name: c
        image: ${image}
        imagePullPolicy: Always
        command: ["sleep", "3600"]
`);
    expect(applied.stderr).toBe("");
    const pods = await eventually(
      `${replicas} pods of ${image} running`,
      async () => {
        const res = await lab!.kctl("get", "pods", "-n", "reg", "-l", "app=pulled", "-o", "json");
        const list = JSON.parse(res.stdout) as {
          items: {
            spec: { nodeName?: string };
            status?: { phase?: string; containerStatuses?: { imageID: string }[] };
          }[];
        };
        expect(list.items.filter((p) => p.status?.phase === "Running")).toHaveLength(replicas);
        return list.items;
      },
      120_000,
    );
    expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(replicas);
    for (const p of pods)
      expect(p.status!.containerStatuses![0]!.imageID).toMatch(/\/kctl\/busybox@sha256:[0-9a-f]{64}$/);
    const gets = (await manifestGets()).slice(before);
    expect(gets.sort()).toEqual(state.nodes.map((n) => n.address).sort());
    const described = await lab!.kctl("describe", "pods", "-n", "reg", "-l", "app=pulled");
    expect(described.stdout).toMatch(/Pulling\s+.*Pulling image/);
    expect(described.stdout).toMatch(
      /Pulled\s+.*Successfully pulled image .* in [0-9.]+s\. Downloaded \d+ bytes\./,
    );
  });

  it("a pod with a missing tag waits as ErrImagePull, then ImagePullBackOff, with a one-line reason", async () => {
    const { state } = lab!;
    const image = `${state.registry}/kctl/busybox:no-such-tag`;
    await lab!.apply(`apiVersion: v1
kind: Pod
metadata:
  name: missing
  namespace: reg
spec:
  containers:
  - name: c
    image: ${image}
`);
    const seen = new Set<string>();
    await eventually(
      "the pod to wait as ImagePullBackOff",
      async () => {
        const res = await lab!.kctl("get", "pod", "missing", "-n", "reg", "-o", "json");
        const waiting = (
          JSON.parse(res.stdout) as {
            status?: { containerStatuses?: { state: { waiting?: { reason: string; message?: string } } }[] };
          }
        ).status?.containerStatuses?.[0]?.state.waiting;
        if (waiting) {
          seen.add(waiting.reason);
          expect(waiting.message ?? "").not.toContain("\n");
          expect(waiting.message ?? "").toContain("no-such-tag");
        }
        expect(seen).toContain("ImagePullBackOff");
        return true;
      },
      60_000,
    );
    const events = await lab!.kctl("get", "events", "-n", "reg");
    expect(events.stdout).toMatch(/Failed\s+.*failed to pull image ".*no-such-tag"/);
  });

  it("fails a missing tag in one line naming it", async () => {
    const { state } = lab!;
    const missing = `${state.registry}/kctl/busybox:no-such-tag`;
    const res = await lab!.onNode(
      "node1",
      ...kctlIn(
        "image",
        "pull",
        missing,
        "--registry-config",
        labContext(state).registryConfigFile,
        "--state-dir",
        join(scratch, "missing"),
      ),
    );
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).toContain("no-such-tag");
  });

  it("is removed with the lab", async () => {
    const pid = lab!.state.processes.find((p) => p.name === "registry")!.pid;
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    await lab!.down();
    lab = undefined;
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });
});
