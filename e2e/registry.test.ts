/**
 * The lab's image registry on a three-host lab, as a newcomer uses it: `kctl lab up` runs Debian's
 * docker-registry at the gateway (here with an htpasswd login, as a private registry) and gives
 * every agent a registry config for it; `kctl image push` puts the busybox image there from the
 * root namespace, and each host pulls it through the agents' config file (into a scratch store, the
 * agents' own stores are left alone) exactly once, as the registry's access log shows. A Deployment
 * by that name with a pull secret runs, rolls to a new tag and scales to every host, each host
 * pulling each tag it runs once; a pod gets its ServiceAccount's pull secret. Attacks and mistakes: a pod naming a secret
 * only another namespace has, and a pod with a wrong password, wait as ErrImagePull with the
 * registry's refusal; a missing tag waits as ErrImagePull, then ImagePullBackOff, and `kctl image
 * pull` of it fails in one line. `lab down` removes the registry.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentsFor, registryComponent } from "../kctl/lab/components.js";
import { componentLogFile } from "../kctl/lab/lab-state.js";
import { labContext } from "../kctl/lab/lab-up.js";
import { runCommand } from "../kctl/lab/run-command.js";
import { htpasswdAuthConfig } from "../node-agent/runtime/registry/testing/registry-server.js";
import { kctlMain } from "./support/kctl-process.js";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

const USER = "newcomer";
const PASSWORD = "s3cret-pw";

interface PodJson {
  metadata: { name: string };
  spec: { nodeName?: string; containers: { image: string }[]; imagePullSecrets?: { name: string }[] };
  status?: {
    phase?: string;
    containerStatuses?: { imageID: string; state: { waiting?: { reason: string; message?: string } } }[];
  };
}

describe.skipIf(!isRoot)("lab image registry (root)", () => {
  let lab: LabCluster | undefined;
  let scratch: string;
  let authfile: string;
  const kctlIn = (...argv: string[]) => [process.execPath, kctlMain, ...argv];
  const remote = (tag: string) => `${lab!.state.registry}/kctl/busybox:${tag}`;
  /** Clients (host addresses) that read `tag`'s manifest, from the registry's access log. */
  const manifestGets = async (tag: string) =>
    [
      ...(await readFile(componentLogFile(lab!.state.labDir, "registry"), "utf8")).matchAll(
        new RegExp(`^(\\S+) - .*"GET /v2/kctl/busybox/manifests/${tag} HTTP/1\\.1" 200 `, "gm"),
      ),
    ].map((m) => m[1]!);
  const pods = async (namespace: string, selector: string) =>
    (
      JSON.parse((await lab!.kctl("get", "pods", "-n", namespace, "-l", selector, "-o", "json")).stdout) as {
        items: PodJson[];
      }
    ).items;
  const waitingOf = async (namespace: string, name: string) =>
    (JSON.parse((await lab!.kctl("get", "pod", name, "-n", namespace, "-o", "json")).stdout) as PodJson)
      .status?.containerStatuses?.[0]?.state.waiting;
  const dockerConfig = (password: string) =>
    JSON.stringify({ auths: { [lab!.state.registry!]: { username: USER, password } } });

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "kctl-e2e-registry-"));
    const htpasswd = join(scratch, "htpasswd");
    htpasswdAuthConfig(htpasswd, USER, PASSWORD);
    lab = await startLabCluster("reg", 3, {
      ...componentsFor("all"),
      registry: (ctx) => registryComponent(ctx, { htpasswd }),
    });
    authfile = join(scratch, "auth.json");
    await writeFile(authfile, dockerConfig(PASSWORD));
  }, 240_000);
  afterAll(downLab(() => lab));
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it("serves pushes from the root and pulls from every host, each host pulling once; no login, no pull", {
    timeout: 180_000,
  }, async () => {
    const { state } = lab!;
    expect(state.registry).toBe(`${state.addresses!.gateway}:5000`);
    const local = join(scratch, "root-store");
    const busybox = await runCommand(kctlIn("image", "busybox", "--state-dir", local));
    expect(busybox.stderr).toBe("");
    for (const tag of ["debian", "v2"]) {
      const pushed = await runCommand(
        kctlIn(
          "image",
          "push",
          "kctl.local/busybox:debian",
          remote(tag),
          "--plain-http",
          "--username",
          USER,
          "--password-stdin",
          "--state-dir",
          local,
        ),
        `${PASSWORD}\n`,
      );
      expect(pushed.stderr).toBe("");
      expect(pushed.stdout).toMatch(/pushed \(sha256:\w+\)/);
    }

    const configFile = labContext(state).registryConfigFile;
    const pull = (node: string, ...auth: string[]) =>
      lab!.onNode(
        node,
        ...kctlIn(
          "image",
          "pull",
          remote("debian"),
          "--registry-config",
          configFile,
          "--state-dir",
          join(scratch, node),
          ...auth,
        ),
      );
    const anonymous = await pull("node1");
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toBe(
      `error: http://${state.registry}: asks for Basic credentials and none are configured for ${state.registry}\n`,
    );
    for (const node of state.nodes) {
      const pulled = await pull(node.name, "--authfile", authfile);
      expect(pulled.stderr, node.name).toBe("");
      expect(pulled.stdout).toMatch(new RegExp(`^image/${remote("debian").replace(/\./g, "\\.")} pulled`));
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

  it("runs a Deployment by its registry name with a pull secret, rolls it to a new tag and scales it to every host, each pulling once", async () => {
    const { state } = lab!;
    // Each host has the layer already (the lab imported the same busybox build into every agent),
    // so a pull there downloads the manifest and config only: count manifest reads by client.
    const before = (await manifestGets("debian")).length;
    const replicas = state.nodes.length;
    const applied = await lab!.apply(`apiVersion: v1
kind: Namespace
metadata:
  name: reg
---
apiVersion: v1
kind: Namespace
metadata:
  name: intruder
---
apiVersion: v1
kind: Secret
metadata:
  name: regcred
  namespace: reg
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '${dockerConfig(PASSWORD)}'
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: pulled
  namespace: reg
spec:
  replicas: 1
  # One pod per host (anti-affinity): replaced one at a time, so a roll never needs a free host.
  strategy:
    rollingUpdate: {maxSurge: 0, maxUnavailable: 1}
  selector:
    matchLabels: {app: pulled}
  template:
    metadata:
      labels: {app: pulled}
    spec:
      imagePullSecrets: [{name: regcred}]
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector:
              matchLabels: {app: pulled}
            topologyKey: kubernetes.io/hostname
      containers:
      - name: c
        image: ${remote("debian")}
        command: ["sleep", "3600"]
`);
    expect(applied.stderr).toBe("");
    const running = (tag: string, count: number) =>
      eventually(
        `${count} pods of ${remote(tag)} running, and no other`,
        async () => {
          const list = await pods("reg", "app=pulled");
          const ready = list.filter(
            (p) => p.status?.phase === "Running" && p.spec.containers[0]!.image === remote(tag),
          );
          expect(ready).toHaveLength(count);
          expect(list).toHaveLength(count);
          return ready;
        },
        180_000,
      );
    const [first] = await running("debian", 1);
    expect(first!.status!.containerStatuses![0]!.imageID).toMatch(/\/kctl\/busybox@sha256:[0-9a-f]{64}$/);
    const firstHost = state.nodes.find((n) => n.name === first!.spec.nodeName)!.address;
    expect((await manifestGets("debian")).slice(before)).toEqual([firstHost]);
    const described = await lab!.kctl("describe", "pods", "-n", "reg", "-l", "app=pulled");
    expect(described.stdout).toMatch(/Pulling\s+.*Pulling image/);
    expect(described.stdout).toMatch(
      /Pulled\s+.*Successfully pulled image .* in [0-9.]+s\. Downloaded \d+ bytes\./,
    );

    const rolled = await lab!.kctl("set", "image", "deployment/pulled", "-n", "reg", `c=${remote("v2")}`);
    expect(rolled.stderr).toBe("");
    await running("v2", 1);
    const scaled = await lab!.kctl("scale", "deployment/pulled", "-n", "reg", "--replicas", String(replicas));
    expect(scaled.stderr).toBe("");
    const everywhere = await running("v2", replicas);
    expect(new Set(everywhere.map((p) => p.spec.nodeName)).size).toBe(replicas);
    expect((await manifestGets("v2")).sort()).toEqual(state.nodes.map((n) => n.address).sort());
  }, 420_000);

  it("gives a pod its ServiceAccount's pull secret", async () => {
    const account = await lab!.apply(`apiVersion: v1
kind: ServiceAccount
metadata:
  name: puller
  namespace: reg
imagePullSecrets: [{name: regcred}]
`);
    expect(account.stderr).toBe("");
    const applied = await lab!.apply(`apiVersion: v1
kind: Pod
metadata:
  name: by-account
  namespace: reg
  labels: {app: by-account}
spec:
  serviceAccountName: puller
  containers:
  - name: c
    image: ${remote("v2")}
    imagePullPolicy: Always
    command: ["sleep", "3600"]
`);
    expect(applied.stderr).toBe("");
    const [pod] = await eventually("by-account running", async () => {
      const list = await pods("reg", "app=by-account");
      expect(list[0]?.status?.phase).toBe("Running");
      return list;
    });
    expect(pod!.spec.imagePullSecrets).toEqual([{ name: "regcred" }]);
  }, 120_000);

  it("refuses a pod a secret of another namespace and a wrong password: ErrImagePull with the registry's refusal", async () => {
    const applied = await lab!.apply(`apiVersion: v1
kind: Pod
metadata:
  name: borrows
  namespace: intruder
spec:
  imagePullSecrets: [{name: regcred}]
  containers:
  - name: c
    image: ${remote("debian")}
    # IfNotPresent would run the copy every host already holds without asking the registry, as
    # upstream does; Always has the registry check this pod's credentials.
    imagePullPolicy: Always
    command: ["sleep", "3600"]
---
apiVersion: v1
kind: Secret
metadata:
  name: guessed
  namespace: reg
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '${dockerConfig("guess")}'
---
apiVersion: v1
kind: Pod
metadata:
  name: guesses
  namespace: reg
spec:
  imagePullSecrets: [{name: guessed}]
  containers:
  - name: c
    image: ${remote("debian")}
    imagePullPolicy: Always
    command: ["sleep", "3600"]
`);
    expect(applied.stderr).toBe("");
    const image = remote("debian");
    for (const [namespace, name, why] of [
      // The secret is looked up in the pod's own namespace, where there is none: no credentials.
      [
        "intruder",
        "borrows",
        `http://${lab!.state.registry}: asks for Basic credentials and none are configured for ${lab!.state.registry}`,
      ],
      [
        "reg",
        "guesses",
        `GET ${image} at http://${lab!.state.registry}/v2/kctl/busybox/manifests/debian: HTTP 401 UNAUTHORIZED: authentication required (credentials refused or missing)`,
      ],
    ] as const) {
      const waiting = await eventually(
        `${namespace}/${name} refused`,
        async () => {
          const w = await waitingOf(namespace, name);
          expect(w?.reason).toMatch(/^(ErrImagePull|ImagePullBackOff)$/);
          return w;
        },
        120_000,
      ).catch(async (err: Error) => {
        const described = await lab!.kctl("describe", "pod", name, "-n", namespace);
        throw new Error(`${err.message}\n${described.stdout}${described.stderr}`);
      });
      expect(waiting!.message).toMatch(new RegExp(`failed to pull image "${image}": `));
      expect(waiting!.message).toContain(why);
      expect(waiting!.message).not.toContain("\n");
    }
    const warned = await lab!.kctl("get", "events", "-n", "intruder");
    expect(warned.stdout).toMatch(/FailedToRetrieveImagePullSecret\s+.*secret intruder\/regcred not found/);
  }, 300_000);

  it("a pod with a missing tag waits as ErrImagePull, then ImagePullBackOff, with a one-line reason", {
    timeout: 120_000,
  }, async () => {
    await lab!.apply(`apiVersion: v1
kind: Pod
metadata:
  name: missing
  namespace: reg
spec:
  imagePullSecrets: [{name: regcred}]
  containers:
  - name: c
    image: ${remote("no-such-tag")}
`);
    const seen = new Set<string>();
    await eventually(
      "the pod to wait as ImagePullBackOff",
      async () => {
        const waiting = await waitingOf("reg", "missing");
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
    const res = await lab!.onNode(
      "node1",
      ...kctlIn(
        "image",
        "pull",
        remote("no-such-tag"),
        "--registry-config",
        labContext(lab!.state).registryConfigFile,
        "--authfile",
        authfile,
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
