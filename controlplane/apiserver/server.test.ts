import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { get as httpGet, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ensureCa, ensureServingCert } from "../../foundation/pki/pki.js";
import { Registry } from "../registry/index.js";
import { Store } from "../store/index.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { type ApiServer, startApiServer } from "./server.js";

const token = "test-token-0123456789";
const run = promisify(execFile);

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON
  body: any;
  contentType: string;
}

const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, labels: { app: "web" } },
  spec: { containers: [{ name: "c", image: "busybox" }], ...extra },
});

const deployment = (name: string, replicas = 2) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "web", image: "nginx" }] },
    },
  },
});

/** Reads a watch stream line by line. */
class WatchReader {
  // biome-ignore lint/suspicious/noExplicitAny: parsed watch events
  readonly lines: any[] = [];
  ended = false;
  status = 0;
  private res: IncomingMessage | undefined;
  private req: ReturnType<typeof httpGet> | undefined;

  static open(url: string, headers: Record<string, string>): Promise<WatchReader> {
    const reader = new WatchReader();
    return new Promise((resolve, reject) => {
      reader.req = httpGet(url, { headers }, (res) => {
        reader.res = res;
        reader.status = res.statusCode ?? 0;
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buf += chunk;
          for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
            reader.lines.push(JSON.parse(buf.slice(0, i)));
            buf = buf.slice(i + 1);
          }
        });
        res.on("end", () => {
          if (buf.trim()) reader.lines.push(JSON.parse(buf));
          reader.ended = true;
        });
        resolve(reader);
      });
      reader.req.on("error", reject);
    });
  }

  async waitFor(n: number): Promise<void> {
    for (let i = 0; i < 250 && this.lines.length < n; i++) await new Promise((r) => setTimeout(r, 20));
    if (this.lines.length < n)
      throw new Error(`only ${this.lines.length} watch events: ${JSON.stringify(this.lines)}`);
  }

  async waitEnd(): Promise<void> {
    for (let i = 0; i < 250 && !this.ended; i++) await new Promise((r) => setTimeout(r, 20));
    if (!this.ended) throw new Error("watch did not end");
  }

  close(): void {
    this.req?.destroy();
    this.res?.destroy();
  }
}

describe("apiserver over HTTP with a real etcd", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  let store: Store;
  let server: ApiServer;
  /** The same registry over HTTPS: kubectl sends bearer tokens only over TLS. */
  let tlsServer: ApiServer;
  let tlsDir: string;
  let caPem: string;
  let metrics: MetricsRegistry;
  const watches: WatchReader[] = [];

  async function api(
    method: string,
    path: string,
    opts: { body?: unknown; raw?: string; contentType?: string; auth?: string | null; accept?: string } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = {};
    const auth = opts.auth === undefined ? token : opts.auth;
    if (auth !== null) headers.Authorization = `Bearer ${auth}`;
    if (opts.accept) headers.Accept = opts.accept;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers["Content-Type"] = opts.contentType ?? "application/json";
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    const contentType = res.headers.get("content-type") ?? "";
    return { status: res.status, body: contentType.includes("json") ? JSON.parse(text) : text, contentType };
  }

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    metrics = new MetricsRegistry();
    store = new Store({ client, metrics });
    const registry = new Registry({ store });
    await registry.ensureSystemNamespaces();
    server = await startApiServer({
      registry,
      port: 0,
      metrics,
      authenticate: (t) => (t === token ? { name: "admin" } : undefined),
      watchBookmarkIntervalMs: 200,
    });
    tlsDir = await mkdtemp(join(tmpdir(), "kctl-apiserver-tls-"));
    const ca = await ensureCa(tlsDir);
    caPem = ca.certPem;
    const cert = await ensureServingCert(tlsDir, ca, { hosts: ["127.0.0.1"], commonName: "apiserver" });
    tlsServer = await startApiServer({
      registry,
      port: 0,
      metrics,
      tls: { cert: cert.certPem, key: cert.keyPem },
      authenticate: (t) => (t === token ? { name: "admin" } : undefined),
    });
  });

  afterAll(async () => {
    for (const w of watches) w.close();
    await server?.close();
    await tlsServer?.close();
    if (tlsDir) await rm(tlsDir, { recursive: true, force: true });
    store?.close();
    client?.close();
    await etcd?.stop();
  });

  beforeEach(async () => {
    for (const w of watches.splice(0)) w.close();
    await client.delete().prefix("/registry/pods/");
    await client.delete().prefix("/registry/deployments.apps/");
    await client.delete().prefix("/registry/configmaps/");
  });

  it("refuses requests without a valid token with 401 and changes nothing", async () => {
    const none = await api("POST", "/api/v1/namespaces/default/pods", { body: pod("a"), auth: null });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ kind: "Status", status: "Failure", reason: "Unauthorized", code: 401 });
    const bad = await api("POST", "/api/v1/namespaces/default/pods", { body: pod("a"), auth: "wrong" });
    expect([bad.status, bad.body.message]).toEqual([401, "Unauthorized: the bearer token is not valid"]);
    expect((await api("GET", "/api/v1/pods")).body.items).toEqual([]);
    expect((await api("GET", "/api/v1/namespaces/default/pods/a", { auth: null })).status).toBe(401);
    expect((await api("GET", "/metrics", { auth: null })).status).toBe(401);
    for (const open of ["/healthz", "/readyz", "/livez"]) {
      expect(await api("GET", open, { auth: null })).toMatchObject({ status: 200, body: "ok" });
    }
    expect((await api("GET", "/version", { auth: null })).body).toMatchObject({
      major: "1",
      gitVersion: expect.any(String),
    });
  });

  it("serves discovery shaped like Kubernetes", async () => {
    expect((await api("GET", "/api")).body).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
    const groups = (await api("GET", "/apis")).body;
    expect(groups.kind).toBe("APIGroupList");
    expect(groups.groups.map((g: { name: string }) => g.name)).toEqual([
      "apps",
      "batch",
      "coordination.k8s.io",
      "rbac.authorization.k8s.io",
      "autoscaling",
      "policy",
      "storage.k8s.io",
      "discovery.k8s.io",
      "networking.k8s.io",
    ]);
    expect(groups.groups[0].preferredVersion).toEqual({ groupVersion: "apps/v1", version: "v1" });
    const core = await api("GET", "/api/v1");
    expect(core.contentType).toBe("application/json");
    expect(core.body).toMatchObject({ kind: "APIResourceList", groupVersion: "v1" });
    const byName = new Map(core.body.resources.map((r: { name: string }) => [r.name, r]));
    expect(byName.get("pods")).toEqual({
      name: "pods",
      singularName: "pod",
      namespaced: true,
      kind: "Pod",
      verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
      shortNames: ["po"],
    });
    expect(byName.get("namespaces")).toMatchObject({ namespaced: false, shortNames: ["ns"] });
    expect(byName.get("pods/status")).toMatchObject({ kind: "Pod", verbs: ["get", "patch", "update"] });
    expect(byName.get("pods/binding")).toMatchObject({ kind: "Binding", verbs: ["create"] });
    expect(byName.get("pods/eviction")).toMatchObject({
      group: "policy",
      version: "v1",
      kind: "Eviction",
      verbs: ["create"],
    });
    const apps = (await api("GET", "/apis/apps/v1")).body;
    expect(apps.groupVersion).toBe("apps/v1");
    expect(apps.resources.find((r: { name: string }) => r.name === "deployments/scale")).toMatchObject({
      group: "autoscaling",
      version: "v1",
      kind: "Scale",
    });
    const coordination = (await api("GET", "/apis/coordination.k8s.io/v1")).body;
    expect(coordination.resources.map((r: { name: string }) => r.name)).toEqual(["leases"]);
    expect((await api("GET", "/apis/apps")).body).toMatchObject({ kind: "APIGroup", name: "apps" });
    const missing = await api("GET", "/apis/example.com/v1");
    expect([missing.status, missing.body.reason]).toEqual([404, "NotFound"]);
    expect((await api("GET", "/api/v1/namespaces/default/widgets")).status).toBe(404);
    expect((await api("GET", "/api/v1/pods/x")).status).toBe(404);
  });

  it("creates, gets and lists with selectors, per namespace and across namespaces", async () => {
    const created = await api("POST", "/api/v1/namespaces/default/pods", { body: pod("a") });
    expect(created.status).toBe(201);
    expect(created.body.metadata).toMatchObject({ name: "a", namespace: "default", generation: 1 });
    await api("POST", "/api/v1/namespaces/kube-system/pods", { body: pod("b", { nodeName: "n1" }) });
    const yaml = await api("POST", "/api/v1/namespaces/default/configmaps", {
      raw: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  k: v\n",
      contentType: "application/yaml",
    });
    expect(yaml.status).toBe(201);
    expect((await api("GET", "/api/v1/namespaces/default/pods/a")).body.metadata.uid).toBe(
      created.body.metadata.uid,
    );
    const all = (await api("GET", "/api/v1/pods")).body;
    expect(all.kind).toBe("PodList");
    expect(all.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(all.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(["a", "b"]);
    const unbound = (await api("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3D")).body;
    expect(unbound.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(["a"]);
    expect(
      (await api("GET", "/api/v1/namespaces/kube-system/pods?labelSelector=app%3Dweb&limit=10")).body.items,
    ).toHaveLength(1);
    expect((await api("GET", "/api/v1/pods?labelSelector=app%3Dother")).body.items).toEqual([]);
    const badSel = await api("GET", "/api/v1/pods?labelSelector=a%20in%20(");
    expect([badSel.status, badSel.body.reason]).toEqual([400, "BadRequest"]);
    const missing = await api("GET", "/api/v1/namespaces/default/pods/zz");
    expect(missing.body).toMatchObject({ code: 404, reason: "NotFound", message: 'Pod "zz" not found' });
  });

  it("refuses invalid objects with 422 and the field paths, malformed bodies with 400", async () => {
    const res = await api("POST", "/apis/apps/v1/namespaces/default/deployments", {
      body: {
        ...deployment("web", -1),
        spec: { ...deployment("web").spec, replicas: -1, selector: { matchLabels: { app: "other" } } },
      },
    });
    expect(res.status).toBe(422);
    expect(res.body.reason).toBe("Invalid");
    expect(res.body.details.causes.map((c: { field: string }) => c.field)).toEqual(
      expect.arrayContaining(["spec.replicas", "spec.template.metadata.labels"]),
    );
    const malformed = await api("POST", "/api/v1/namespaces/default/pods", { raw: "{not json" });
    expect([malformed.status, malformed.body.reason]).toEqual([400, "BadRequest"]);
    expect(malformed.body.message).toContain("not valid JSON");
    const proto = await api("POST", "/api/v1/namespaces/default/pods", {
      raw: "x",
      contentType: "application/vnd.kubernetes.protobuf",
    });
    expect([proto.status, proto.body.reason]).toEqual([400, "BadRequest"]);
    expect(proto.body.message).toContain('"k8s\\0" envelope');
    const truncated = await api("POST", "/api/v1/namespaces/default/pods", {
      raw: "k8s\u0000\u000a\u0005ab",
      contentType: "application/vnd.kubernetes.protobuf",
    });
    expect([truncated.status, truncated.body.reason]).toEqual([400, "BadRequest"]);
    expect((await api("GET", "/api/v1/namespaces/default/pods")).body.items).toEqual([]);
  });

  it("writes nothing on dryRun=All and refuses other dryRun values", async () => {
    const dry = await api("POST", "/api/v1/namespaces/default/pods?dryRun=All", { body: pod("dry") });
    expect(dry.status).toBe(201);
    expect(dry.body.metadata.resourceVersion).toBeUndefined();
    expect((await api("GET", "/api/v1/namespaces/default/pods/dry")).status).toBe(404);
    const bogus = await api("POST", "/api/v1/namespaces/default/pods?dryRun=Bogus", { body: pod("dry") });
    expect([bogus.status, bogus.body.message]).toEqual([
      400,
      'query parameter dryRun: unsupported value "Bogus"; only "All" is supported',
    ]);
    await api("POST", "/api/v1/namespaces/default/pods", { body: pod("real") });
    const del = await api("DELETE", "/api/v1/namespaces/default/pods/real?dryRun=All");
    expect(del.status).toBe(200);
    const patch = await api("PATCH", "/api/v1/namespaces/default/pods/real?dryRun=All", {
      body: { metadata: { labels: { x: "y" } } },
      contentType: "application/merge-patch+json",
    });
    expect(patch.body.metadata.labels).toEqual({ app: "web", x: "y" });
    expect((await api("GET", "/api/v1/namespaces/default/pods/real")).body.metadata.labels).toEqual({
      app: "web",
    });
  });

  it("refuses objects over 1.5 MiB and bodies over 3 MiB with 413", async () => {
    const big = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "big" },
      data: { a: "x".repeat(900 * 1024), b: "y".repeat(900 * 1024) },
    };
    const res = await api("POST", "/api/v1/namespaces/default/configmaps", { body: big });
    expect([res.status, res.body.reason]).toEqual([413, "RequestEntityTooLarge"]);
    expect(res.body.message).toContain("the limit is 1568768 bytes (1.5 MiB, less 4 KiB");
    const huge = await api("POST", "/api/v1/namespaces/default/configmaps", {
      body: { ...big, data: { a: "x".repeat(3.5 * 1024 * 1024) } },
    });
    expect(huge.status).toBe(413);
    expect((await api("GET", "/api/v1/namespaces/default/configmaps")).body.items).toEqual([]);
  });

  it("refuses an oversized object for its size on dryRun, and before its field errors", async () => {
    const data = { a: "x".repeat(900 * 1024), b: "y".repeat(900 * 1024) };
    const dry = await api("POST", "/api/v1/namespaces/default/configmaps?dryRun=All", {
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "big" }, data },
    });
    expect([dry.status, dry.body.reason]).toEqual([413, "RequestEntityTooLarge"]);
    const badName = await api("POST", "/api/v1/namespaces/default/configmaps", {
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "Not_A_Name" }, data },
    });
    expect([badName.status, badName.body.reason]).toEqual([413, "RequestEntityTooLarge"]);
    await api("POST", "/api/v1/namespaces/default/configmaps", {
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "small" } },
    });
    const dryUpdate = await api("PATCH", "/api/v1/namespaces/default/configmaps/small?dryRun=All", {
      body: { data },
      contentType: "application/merge-patch+json",
    });
    expect([dryUpdate.status, dryUpdate.body.reason]).toEqual([413, "RequestEntityTooLarge"]);
    expect((await api("GET", "/api/v1/namespaces/default/configmaps/small")).body.data).toBeUndefined();
  });

  it("keeps spec and status apart and bumps generation on spec changes", async () => {
    const d = (await api("POST", "/apis/apps/v1/namespaces/default/deployments", { body: deployment("web") }))
      .body;
    const status = await api("PUT", "/apis/apps/v1/namespaces/default/deployments/web/status", {
      body: { ...d, spec: { ...d.spec, replicas: 10 }, status: { replicas: 2, readyReplicas: 1 } },
    });
    expect(status.status).toBe(200);
    expect([status.body.spec.replicas, status.body.status, status.body.metadata.generation]).toEqual([
      2,
      { replicas: 2, readyReplicas: 1 },
      1,
    ]);
    const put = await api("PUT", "/apis/apps/v1/namespaces/default/deployments/web", {
      body: { ...deployment("web", 3), status: { replicas: 99 } },
    });
    expect([put.body.spec.replicas, put.body.status, put.body.metadata.generation]).toEqual([
      3,
      { replicas: 2, readyReplicas: 1 },
      2,
    ]);
    const stale = await api("PUT", "/apis/apps/v1/namespaces/default/deployments/web", {
      body: {
        ...deployment("web", 4),
        metadata: { name: "web", resourceVersion: d.metadata.resourceVersion },
      },
    });
    expect([stale.status, stale.body.reason]).toEqual([409, "Conflict"]);
    const patched = await api("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/status", {
      body: { status: { readyReplicas: 2 } },
      contentType: "application/merge-patch+json",
    });
    expect(patched.body.status).toEqual({ replicas: 2, readyReplicas: 2 });
    expect((await api("PUT", "/api/v1/namespaces/default/configmaps/x/status", { body: {} })).status).toBe(
      404,
    );
  });

  it("patches with merge and strategic merge patches, refusing JSON Patch with 415", async () => {
    await api("POST", "/apis/apps/v1/namespaces/default/deployments", { body: deployment("web") });
    const merge = await api("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", {
      body: { metadata: { labels: { tier: "front" } }, spec: { replicas: 5 } },
      contentType: "application/merge-patch+json",
    });
    expect([
      merge.status,
      merge.body.metadata.labels,
      merge.body.spec.replicas,
      merge.body.metadata.generation,
    ]).toEqual([200, { tier: "front" }, 5, 2]);
    const strategic = await api("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", {
      body: { spec: { template: { spec: { containers: [{ name: "web", image: "nginx:2" }] } } } },
      contentType: "application/strategic-merge-patch+json",
    });
    expect(strategic.body.spec.template.spec.containers[0]).toMatchObject({ name: "web", image: "nginx:2" });
    const jsonPatch = await api("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", {
      raw: '[{"op":"replace","path":"/spec/replicas","value":1}]',
      contentType: "application/json-patch+json",
    });
    expect([jsonPatch.status, jsonPatch.body.spec.replicas]).toEqual([200, 1]);
    const failedTest = await api("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", {
      raw: '[{"op":"replace","path":"/spec/replicas","value":4},{"op":"test","path":"/spec/replicas","value":5}]',
      contentType: "application/json-patch+json",
    });
    expect([failedTest.status, failedTest.body.reason]).toEqual([422, "Invalid"]);
    expect(failedTest.body.message).toContain("operation 1 (test /spec/replicas): test failed");
    const malformed = await api("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", {
      raw: '{"op":"replace"}',
      contentType: "application/json-patch+json",
    });
    expect([malformed.status, malformed.body.reason]).toEqual([400, "BadRequest"]);
    const stored = await api("GET", "/apis/apps/v1/namespaces/default/deployments/web");
    expect(stored.body.spec.replicas).toBe(1);
    const protobuf = await api("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", {
      raw: "x",
      contentType: "application/apply-patch+cbor",
    });
    expect([protobuf.status, protobuf.body.reason]).toEqual([415, "UnsupportedMediaType"]);
    const ssa = (body: unknown, query = "?fieldManager=t") =>
      api("PATCH", `/apis/apps/v1/namespaces/default/deployments/ssa${query}`, {
        body,
        contentType: "application/apply-patch+yaml",
      });
    const wrongKind = await ssa({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ssa" } });
    expect([wrongKind.status, wrongKind.body.message]).toEqual([
      400,
      'the apply patch is a ConfigMap of "v1", but the URL names a Deployment of "apps/v1"',
    ]);
    const noManager = await ssa(deployment("ssa"), "");
    expect([noManager.status, noManager.body.message]).toEqual([
      400,
      "fieldManager: Required value: is required for apply patch",
    ]);
    expect((await api("GET", "/apis/apps/v1/namespaces/default/deployments/ssa")).status).toBe(404);
    const created = await ssa(deployment("ssa"));
    expect([created.status, created.body.metadata.managedFields[0].manager]).toEqual([200, "t"]);
  });

  it("binds pods once and serves scale", async () => {
    await api("POST", "/api/v1/namespaces/default/pods", { body: pod("p") });
    const binding = {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: "p" },
      target: { kind: "Node", name: "n1" },
    };
    const first = await api("POST", "/api/v1/namespaces/default/pods/p/binding", { body: binding });
    expect([first.status, first.body.status]).toEqual([201, "Success"]);
    expect((await api("GET", "/api/v1/namespaces/default/pods/p")).body.spec.nodeName).toBe("n1");
    const second = await api("POST", "/api/v1/namespaces/default/pods/p/binding", { body: binding });
    expect([second.status, second.body.reason]).toEqual([409, "Conflict"]);

    await api("POST", "/apis/apps/v1/namespaces/default/deployments", { body: deployment("web") });
    const scale = await api("GET", "/apis/apps/v1/namespaces/default/deployments/web/scale");
    expect(scale.body).toMatchObject({ kind: "Scale", apiVersion: "autoscaling/v1", spec: { replicas: 2 } });
    const scaled = await api("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", {
      body: { spec: { replicas: 7 } },
      contentType: "application/merge-patch+json",
    });
    expect(scaled.body.spec.replicas).toBe(7);
    expect((await api("GET", "/apis/apps/v1/namespaces/default/deployments/web")).body.spec.replicas).toBe(7);
  });

  it("deletes with DeleteOptions from the body or the query", async () => {
    await api("POST", "/api/v1/namespaces/default/configmaps", {
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "held", finalizers: ["example.com/x"] },
      },
    });
    const held = await api("DELETE", "/api/v1/namespaces/default/configmaps/held", {
      body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Foreground" },
    });
    expect(held.status).toBe(202);
    expect(held.body.metadata.deletionTimestamp).toBeDefined();
    expect(held.body.metadata.finalizers).toEqual(["example.com/x", "foregroundDeletion"]);
    await api("PATCH", "/api/v1/namespaces/default/configmaps/held", {
      body: { metadata: { finalizers: null } },
      contentType: "application/merge-patch+json",
    });
    expect((await api("GET", "/api/v1/namespaces/default/configmaps/held")).status).toBe(404);

    await api("POST", "/api/v1/namespaces/default/pods", { body: pod("bound", { nodeName: "n1" }) });
    const graceful = await api("DELETE", "/api/v1/namespaces/default/pods/bound?gracePeriodSeconds=10");
    expect([graceful.status, graceful.body.metadata.deletionGracePeriodSeconds]).toEqual([202, 10]);
    const now = await api("DELETE", "/api/v1/namespaces/default/pods/bound?gracePeriodSeconds=0");
    expect(now.status).toBe(200);
    const badPolicy = await api("DELETE", "/api/v1/namespaces/default/pods/x?propagationPolicy=Sometimes");
    expect([badPolicy.status, badPolicy.body.message]).toEqual([
      400,
      'propagationPolicy: unsupported value "Sometimes"; supported values: "Orphan", "Background", "Foreground"',
    ]);
    expect((await api("DELETE", "/api/v1/namespaces/default/pods/gone")).status).toBe(404);
  });

  it("streams watches, resumes from a resourceVersion and sends bookmarks", async () => {
    const rv = (await api("GET", "/api/v1/namespaces/default/pods")).body.metadata.resourceVersion;
    const auth = { Authorization: `Bearer ${token}` };
    const w = await WatchReader.open(
      `${server.url}/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}&labelSelector=app%3Dweb`,
      auth,
    );
    watches.push(w);
    expect(w.status).toBe(200);
    const a = (await api("POST", "/api/v1/namespaces/default/pods", { body: pod("a") })).body;
    await api("PATCH", "/api/v1/namespaces/default/pods/a", {
      body: { metadata: { labels: { app: "other" } } },
      contentType: "application/merge-patch+json",
    });
    await w.waitFor(2);
    expect(w.lines.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ["ADDED", "a"],
      ["DELETED", "a"],
    ]);

    const resumed = await WatchReader.open(
      `${server.url}/api/v1/pods?watch=1&resourceVersion=${a.metadata.resourceVersion}&allowWatchBookmarks=true`,
      auth,
    );
    watches.push(resumed);
    await resumed.waitFor(2);
    expect(resumed.lines[0].type).toBe("MODIFIED");
    expect(resumed.lines.slice(1).every((e) => e.type === "BOOKMARK")).toBe(true);
    expect(resumed.lines[1].object.metadata.resourceVersion).toMatch(/^\d+$/);

    const initial = await WatchReader.open(
      `${server.url}/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1`,
      auth,
    );
    await initial.waitFor(1);
    expect(initial.lines[0]).toMatchObject({ type: "ADDED", object: { metadata: { name: "a" } } });
    await initial.waitEnd();
  });

  it("prints Tables for kubectl: list, get and watch, with kubectl's columns and each row's metadata", async () => {
    const asTable = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    await api("POST", "/api/v1/namespaces/default/pods", { body: pod("t1", { nodeName: "n1" }) });
    const list = await api("GET", "/api/v1/namespaces/default/pods", { accept: asTable });
    expect(list.status).toBe(200);
    expect(list.contentType).toBe("application/json;as=Table;v=v1;g=meta.k8s.io");
    expect(list.body).toMatchObject({ kind: "Table", apiVersion: "meta.k8s.io/v1" });
    expect(list.body.metadata.resourceVersion).toMatch(/^\d+$/);
    const columns = list.body.columnDefinitions as { name: string; format: string; priority: number }[];
    expect(columns.filter((c) => c.priority === 0).map((c) => c.name)).toEqual([
      "NAME",
      "READY",
      "STATUS",
      "RESTARTS",
      "AGE",
    ]);
    expect(columns.filter((c) => c.priority === 1).map((c) => c.name)).toEqual([
      "IP",
      "NODE",
      "NOMINATED NODE",
      "READINESS GATES",
    ]);
    expect(columns[0]!.format).toBe("name");
    expect(list.body.rows).toHaveLength(1);
    expect(list.body.rows[0].cells.slice(0, 3)).toEqual(["t1", "0/1", "Pending"]);
    expect(list.body.rows[0].cells.slice(-3)).toEqual(["n1", "<none>", "<none>"]);
    expect(list.body.rows[0].object).toMatchObject({
      kind: "PartialObjectMetadata",
      metadata: { name: "t1", namespace: "default" },
    });

    const one = await api("GET", "/api/v1/namespaces/default/pods/t1?includeObject=None", {
      accept: asTable,
    });
    expect(one.body.rows).toEqual([{ cells: expect.any(Array) }]);
    const plain = await api("GET", "/api/v1/namespaces/default/pods/t1");
    expect(plain.body.kind).toBe("Pod");

    const w = await WatchReader.open(`${server.url}/api/v1/namespaces/default/pods?watch=true`, {
      Authorization: `Bearer ${token}`,
      Accept: asTable,
    });
    watches.push(w);
    await api("POST", "/api/v1/namespaces/default/pods", { body: pod("t2") });
    await w.waitFor(2);
    expect(w.lines.map((e) => [e.type, e.object.kind, e.object.rows[0].cells[0]])).toEqual([
      ["ADDED", "Table", "t1"],
      ["ADDED", "Table", "t2"],
    ]);
    expect(w.lines[0].object.columnDefinitions).toHaveLength(9);
    expect(w.lines[1].object.columnDefinitions).toBeUndefined();
  });

  it("answers a compacted resourceVersion with 410 Gone, and counts open watches", async () => {
    const a = (await api("POST", "/api/v1/namespaces/default/pods", { body: pod("a") })).body;
    const b = await api("PATCH", "/api/v1/namespaces/default/pods/a", {
      body: { metadata: { labels: { v: "2" } } },
      contentType: "application/merge-patch+json",
    });
    await client.kv.compact({ revision: b.body.metadata.resourceVersion, physical: true });
    const gone = await api("GET", `/api/v1/pods?watch=true&resourceVersion=${a.metadata.resourceVersion}`);
    expect([gone.status, gone.body.reason, gone.body.kind]).toEqual([410, "Gone", "Status"]);
    expect(gone.body.message).toContain("too old resource version");

    const w = await WatchReader.open(`${server.url}/api/v1/pods?watch=true`, {
      Authorization: `Bearer ${token}`,
    });
    await w.waitFor(1);
    expect(await metrics.metrics()).toMatch(/apiserver_open_watches\{resource="pods"\} 1/);
    w.close();
    for (let i = 0; i < 50; i++) {
      if (/apiserver_open_watches\{resource="pods"\} 0/.test(await metrics.metrics())) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const text = (await api("GET", "/metrics")).body as string;
    expect(text).toMatch(/apiserver_open_watches\{resource="pods"\} 0/);
    expect(text).toMatch(
      /apiserver_request_total\{verb="POST",resource="pods",subresource="",code="201"\} \d+/,
    );
    expect(text).toMatch(
      /apiserver_request_total\{verb="WATCH",resource="pods",subresource="",code="410"\} \d+/,
    );
    expect(text).toMatch(/apiserver_request_duration_seconds_bucket\{le="[^"]+",verb="GET",resource="pods"/);
    expect(text).toMatch(/etcd_request_duration_seconds_count\{operation="create",type="pods"\} \d+/);
  });

  it("serves HTTPS when given a certificate", async () => {
    expect(tlsServer.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        `${tlsServer.url}/api/v1/namespaces`,
        { ca: caPem, headers: { Authorization: `Bearer ${token}` } },
        (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve(text));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(JSON.parse(body).kind).toBe("NamespaceList");
  });

  it("pages lists with limit and continue, as JSON and as kubectl's Tables, and refuses a bad limit", async () => {
    for (const n of ["p1", "p2", "p3", "p4", "p5"]) {
      await api("POST", "/api/v1/namespaces/default/configmaps", {
        body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: n } },
      });
    }
    const first = await api("GET", "/api/v1/namespaces/default/configmaps?limit=2");
    expect(first.body.items.map((c: { metadata: { name: string } }) => c.metadata.name)).toEqual([
      "p1",
      "p2",
    ]);
    expect(first.body.metadata.remainingItemCount).toBe(3);
    const next = encodeURIComponent(first.body.metadata.continue);
    const table = await api("GET", `/api/v1/namespaces/default/configmaps?limit=2&continue=${next}`, {
      accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
    });
    expect(table.body.rows.map((r: { cells: string[] }) => r.cells[0])).toEqual(["p3", "p4"]);
    expect(table.body.metadata.continue).toEqual(expect.any(String));
    const bad = await api("GET", "/api/v1/namespaces/default/configmaps?limit=-1");
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('limit: invalid value "-1": must be a non-negative integer');
    const forged = await api("GET", "/api/v1/namespaces/default/configmaps?limit=1&continue=abc");
    expect(forged.status).toBe(400);
    expect(forged.body.message).toMatch(/^continue key is not valid/);
    if (existsSync("/usr/bin/kubectl")) {
      const { stdout } = await run(
        "kubectl",
        [
          `--server=${tlsServer.url}`,
          `--token=${token}`,
          "--insecure-skip-tls-verify",
          "get",
          "configmaps",
          "-n",
          "default",
          "--chunk-size=2",
          "-o",
          "name",
        ],
        { env: { ...process.env, KUBECONFIG: "/dev/null", HOME: tmpdir() } },
      );
      expect(stdout.trim().split("\n")).toEqual(["p1", "p2", "p3", "p4", "p5"].map((n) => `configmap/${n}`));
    }
  });

  it.skipIf(!existsSync("/usr/bin/kubectl"))("works with stock kubectl get and delete", async () => {
    await api("POST", "/api/v1/namespaces/default/pods", { body: pod("kp") });
    await api("POST", "/apis/apps/v1/namespaces/default/deployments", { body: deployment("kd") });
    await api("POST", "/api/v1/namespaces/kube-system/configmaps", {
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kc" } },
    });
    const kubectl = (...args: string[]) =>
      run(
        "kubectl",
        [`--server=${tlsServer.url}`, `--token=${token}`, "--insecure-skip-tls-verify", ...args],
        {
          env: { ...process.env, KUBECONFIG: "/dev/null", HOME: tmpdir() },
        },
      );
    const pods = await kubectl("get", "pods", "-A");
    expect(pods.stdout).toMatch(/NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    expect(pods.stdout).toMatch(/default\s+kp\s+0\/1\s+Pending\s+0\s/);
    expect((await kubectl("get", "deploy", "kd", "-o", "wide")).stdout).toMatch(
      /NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/,
    );
    expect((await kubectl("get", "deploy", "-n", "default")).stdout).toMatch(/kd/);
    expect((await kubectl("get", "cm", "-A")).stdout).toMatch(/kube-system\s+kc/);
    expect((await kubectl("get", "svc", "-A")).stderr).toMatch(/No resources found/);
    expect((await kubectl("get", "po", "kp", "-o", "json")).stdout).toContain('"name": "kp"');
    expect((await kubectl("delete", "pod", "kp", "-n", "default")).stdout).toMatch(/pod "kp" deleted/);
    expect((await kubectl("delete", "deployment", "kd")).stdout).toMatch(/deployment.apps "kd" deleted/);
    expect((await api("GET", "/apis/apps/v1/namespaces/default/deployments/kd")).status).toBe(404);
    const denied = await run(
      "kubectl",
      [`--server=${tlsServer.url}`, "--token=wrong", "--insecure-skip-tls-verify", "get", "pods"],
      {
        env: { ...process.env, KUBECONFIG: "/dev/null", HOME: tmpdir() },
      },
    ).catch((e: { stderr: string }) => e);
    expect((denied as { stderr: string }).stderr).toMatch(/Unauthorized|credentials/i);
  });
});

describe("apiserver edges that need no etcd", () => {
  it("keeps an idle keep-alive connection open past Node's 5 s, so a client's next request on it is answered", async () => {
    const server = await startApiServer({
      registry: {} as Registry,
      port: 0,
      metrics: new MetricsRegistry(),
      authenticate: () => ({ name: "admin" }),
    });
    const socket = connect(Number(new URL(server.url).port), "127.0.0.1");
    try {
      let received = "";
      socket.setEncoding("utf8").on("data", (d: string) => (received += d));
      const ask = async () => {
        received = "";
        socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
        for (let i = 0; i < 100 && !received.includes("\r\n\r\n"); i++)
          await new Promise((r) => setTimeout(r, 20));
        return received;
      };
      expect(await ask()).toMatch(/^HTTP\/1\.1 200/);
      await new Promise((r) => setTimeout(r, 6_000));
      expect(socket.destroyed || socket.readableEnded).toBe(false);
      expect(await ask()).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      socket.destroy();
      await server.close();
    }
  }, 15_000);

  it("turns unexpected exceptions into a 500 InternalError Status and logs them", async () => {
    // A stand-in registry whose list fails the way a bug would: only the HTTP edge is under test.
    const broken = {
      list: async () => {
        throw new TypeError("boom");
      },
    } as unknown as Registry;
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    const server = await startApiServer({
      registry: broken,
      port: 0,
      metrics: new MetricsRegistry(),
      authenticate: () => ({ name: "admin" }),
    });
    try {
      const res = await fetch(`${server.url}/api/v1/pods`, { headers: { Authorization: "Bearer x" } });
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({
        kind: "Status",
        reason: "InternalError",
        code: 500,
        message: expect.stringContaining("boom"),
      });
      expect(String(errors[0])).toContain("TypeError: boom");
    } finally {
      console.error = original;
      await server.close();
    }
  });

  it("sheds a flood with 429 and Retry-After, but lets admins, probes and streams through", async () => {
    let releaseSlow: () => void = () => {};
    const slow = new Promise<void>((resolve) => (releaseSlow = resolve));
    // A stand-in registry whose read of "slow" hangs until released: it holds the one read slot.
    const registry = {
      get: async (_info: unknown, namespace: string, name: string) => {
        if (name === "slow") await slow;
        return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace } };
      },
    } as unknown as Registry;
    const server = await startApiServer({
      registry,
      port: 0,
      metrics: new MetricsRegistry(),
      maxInFlight: { readonly: 1, mutating: 1 },
      authenticate: (t) =>
        t === "admin"
          ? { name: "admin", groups: ["system:masters"] }
          : t === "flood"
            ? { name: "flooder" }
            : undefined,
      subresourceHandlers: { log: async (_req, res) => void res.end("log") },
    });
    const as = (who: string, path: string, init: RequestInit = {}) =>
      fetch(`${server.url}${path}`, { ...init, headers: { Authorization: `Bearer ${who}` } });
    try {
      const held = as("flood", "/api/v1/namespaces/default/pods/slow");
      await new Promise((r) => setTimeout(r, 100));
      const shed = await as("flood", "/api/v1/namespaces/default/pods/other");
      expect(shed.status).toBe(429);
      expect(shed.headers.get("retry-after")).toBe("1");
      expect(await shed.json()).toMatchObject({
        kind: "Status",
        reason: "TooManyRequests",
        message: "Too many requests, please try again later.",
        details: { retryAfterSeconds: 1 },
      });
      expect((await as("admin", "/api/v1/namespaces/default/pods/other")).status).toBe(200);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await as("flood", "/api/v1/namespaces/default/pods/web/log")).status).toBe(200);
      // Writes have their own budget: a read flood does not starve them.
      expect((await as("flood", "/api/v1/namespaces/default/nosuchkind", { method: "POST" })).status).toBe(
        404,
      );
      releaseSlow();
      expect((await held).status).toBe(200);
      expect((await as("flood", "/api/v1/namespaces/default/pods/other")).status).toBe(200);
    } finally {
      releaseSlow();
      await server.close();
    }
  });

  it("routes pods/log to a given handler and lists it in discovery", async () => {
    const server = await startApiServer({
      registry: {} as Registry,
      port: 0,
      metrics: new MetricsRegistry(),
      authenticate: (t) => (t === "ok" ? { name: "admin" } : undefined),
      subresourceHandlers: {
        log: async (_req, res, target) => {
          res.writeHead(200, { "Content-Type": "text/plain" });
          res.end(`logs of ${target.namespace}/${target.name} container=${target.query.get("container")}`);
        },
      },
    });
    try {
      const headers = { Authorization: "Bearer ok" };
      const res = await fetch(`${server.url}/api/v1/namespaces/default/pods/web/log?container=c`, {
        headers,
      });
      expect(await res.text()).toBe("logs of default/web container=c");
      const denied = await fetch(`${server.url}/api/v1/namespaces/default/pods/web/log`);
      expect(denied.status).toBe(401);
      const core = (await (await fetch(`${server.url}/api/v1`, { headers })).json()) as {
        resources: { name: string }[];
      };
      const names = core.resources.map((r) => r.name);
      expect(names).toContain("pods/log");
      expect(names).not.toContain("pods/exec");
      const exec = await fetch(`${server.url}/api/v1/namespaces/default/pods/web/exec`, {
        method: "POST",
        headers,
      });
      expect(exec.status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
