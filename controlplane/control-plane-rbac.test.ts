import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userTokenSecret } from "../foundation/bootstrap/token-format.js";
import { ensureCa, issueCertificate, type KeyPair } from "../foundation/pki/pki.js";
import { userKubeconfig } from "../kctl/commands/kubeconfig.js";
import { type ControlPlane, startControlPlane } from "./control-plane.js";
import { apiCall, type Reply, type Who } from "./testing/api-call.js";

const run = promisify(execFile);
const kubectl = "/usr/bin/kubectl";

/** Three identities on a real control plane: admin (token), viewer (certificate), editor (token, one namespace). */
describe("authentication and RBAC on a real control plane", () => {
  let dir: string;
  let cp: ControlPlane;
  let viewerCert: KeyPair;
  const editorToken = "edit01.0123456789abcdef";

  const admin = (): Who => ({ token: cp.adminToken });
  const viewer = (): Who => ({ cert: viewerCert });
  const editor: Who = { token: editorToken };

  const call = (who: Who, method: string, path: string, body?: unknown): Promise<Reply> =>
    apiCall(cp, who, method, path, body);

  const configMap = (name: string) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name },
    data: { k: "v" },
  });
  const rbac = "/apis/rbac.authorization.k8s.io/v1";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-rbac-"));
    cp = await startControlPlane({ stateDir: dir, port: 0, listenHost: "127.0.0.1", dnsPort: 0 });
    const ca = await ensureCa(join(dir, "pki"));
    viewerCert = await issueCertificate(ca, {
      commonName: "viewer",
      organization: ["viewers"],
      client: true,
    });
    const setup = [
      ["/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } }],
      [
        "/api/v1/namespaces/kube-system/secrets",
        userTokenSecret({ token: editorToken, user: "editor", groups: [] }),
      ],
      [
        `${rbac}/clusterrolebindings`,
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRoleBinding",
          metadata: { name: "viewers-view" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
          subjects: [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "viewers" }],
        },
      ],
      [
        `${rbac}/namespaces/team/rolebindings`,
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "RoleBinding",
          metadata: { name: "editor-edit" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
          subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "editor" }],
        },
      ],
    ] as const;
    for (const [path, obj] of setup) expect((await call(admin(), "POST", path, obj)).status).toBe(201);
    // The authenticator and the authorizer read informer caches: wait until they have the new objects.
    for (let i = 0; i < 200; i++) {
      const res = await call(editor, "GET", "/api/v1/namespaces/team/configmaps");
      if (res.status === 200) break;
      await new Promise((r) => setTimeout(r, 25));
    }
  });
  afterAll(async () => {
    await cp?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("reconciles the default roles at start", async () => {
    const roles = await call(admin(), "GET", `${rbac}/clusterroles`);
    const names = (roles.body.items as { metadata: { name: string } }[]).map((r) => r.metadata.name);
    expect(names).toEqual(
      expect.arrayContaining(["cluster-admin", "admin", "edit", "view", "system:discovery"]),
    );
  });

  it("lets the admin token do anything", async () => {
    expect(
      (await call(admin(), "POST", "/api/v1/namespaces/team/configmaps", configMap("by-admin"))).status,
    ).toBe(201);
    expect((await call(admin(), "GET", "/api/v1/namespaces/kube-system/secrets")).status).toBe(200);
    expect((await call(admin(), "GET", "/metrics")).status).toBe(200);
  });

  it("lets a certificate user bound to view read, but not write or read Secrets", async () => {
    expect((await call(viewer(), "GET", "/api/v1/pods")).status).toBe(200);
    expect((await call(viewer(), "GET", "/api/v1/namespaces/team/configmaps/by-admin")).status).toBe(200);
    const write = await call(viewer(), "POST", "/api/v1/namespaces/team/configmaps", configMap("by-viewer"));
    expect(write.status).toBe(403);
    expect(write.body.message).toBe(
      'configmaps is forbidden: User "viewer" cannot create resource "configmaps" in API group "" in the namespace "team"',
    );
    const secret = await call(viewer(), "GET", "/api/v1/namespaces/kube-system/secrets/user-token-edit01");
    expect(secret.status).toBe(403);
    expect(secret.body.message).toBe(
      'secrets "user-token-edit01" is forbidden: User "viewer" cannot get resource "secrets" in API group "" in the namespace "kube-system"',
    );
    expect((await call(viewer(), "GET", "/metrics")).body.message).toBe(
      'forbidden: User "viewer" cannot get path "/metrics"',
    );
  });

  it("lets a token user bound to edit in one namespace write there and nowhere else", async () => {
    expect(
      (await call(editor, "POST", "/api/v1/namespaces/team/configmaps", configMap("by-editor"))).status,
    ).toBe(201);
    expect((await call(editor, "GET", "/api/v1/namespaces/team/secrets")).status).toBe(200);
    expect((await call(editor, "GET", "/api/v1/namespaces/default/pods")).status).toBe(403);
    expect((await call(editor, "GET", "/api/v1/pods")).status).toBe(403);
    const escalate = await call(editor, "POST", `${rbac}/clusterrolebindings`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "editor-admin" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "editor" }],
    });
    expect(escalate.status).toBe(403);
    expect(escalate.body.message).toBe(
      'clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "editor" cannot create resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope',
    );
  });

  /** The status line of a WebSocket upgrade on a pod subresource (as kubectl asks), without running anything. */
  function execUpgrade(
    who: Who,
    namespace: string,
    sub: { path: string; protocol: string } = {
      path: "exec?command=id&stdout=true",
      protocol: "v5.channel.k8s.io",
    },
  ): Promise<{ status: number; message: string }> {
    return new Promise((resolve, reject) => {
      const req = request(`${cp.apiUrl}/api/v1/namespaces/${namespace}/pods/nosuch/${sub.path}`, {
        ca: cp.caPem,
        headers: {
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-version": "13",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
          "sec-websocket-protocol": sub.protocol,
          ...("token" in who ? { authorization: `Bearer ${who.token}` } : {}),
        },
        ...("cert" in who ? { cert: who.cert.certPem, key: who.cert.keyPem } : {}),
      });
      req.on("upgrade", (res, socket) => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, message: "" });
      });
      req.on("response", (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, message: JSON.parse(text).message ?? "" }),
        );
      });
      req.on("error", reject).end();
    });
  }

  it("authorizes exec over WebSocket like any request: a view user may not exec, an edit user may in its namespace", async () => {
    const viewed = await execUpgrade(viewer(), "team");
    expect(viewed.status).toBe(403);
    expect(viewed.message).toBe(
      'pods "nosuch" is forbidden: User "viewer" cannot create resource "pods/exec" in API group "" in the namespace "team"',
    );
    expect((await execUpgrade(editor, "default")).status).toBe(403);
    // Past authorization, the pod itself is what is missing.
    expect((await execUpgrade(editor, "team")).status).toBe(404);
  });

  it("authorizes port-forward and attach as upstream: create on pods/portforward and pods/attach, granted by edit", async () => {
    const subs = [
      { name: "portforward", path: "portforward?ports=80", protocol: "SPDY/3.1+portforward.k8s.io" },
      { name: "attach", path: "attach?stdout=true", protocol: "v5.channel.k8s.io" },
    ];
    for (const sub of subs) {
      const viewed = await execUpgrade(viewer(), "team", sub);
      expect(viewed.status).toBe(403);
      expect(viewed.message).toBe(
        `pods "nosuch" is forbidden: User "viewer" cannot create resource "pods/${sub.name}" in API group "" in the namespace "team"`,
      );
      expect((await execUpgrade(editor, "default", sub)).status).toBe(403);
      expect((await execUpgrade(editor, "team", sub)).status).toBe(404);
    }
  });

  it("answers /readyz?verbose and /livez without credentials, after asking etcd", async () => {
    for (const path of ["/readyz?verbose", "/livez?verbose"]) {
      const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        request(`${cp.apiUrl}${path}`, { ca: cp.caPem }, (r) => {
          let text = "";
          r.on("data", (d: Buffer) => (text += d.toString()));
          r.on("end", () => resolve({ status: r.statusCode ?? 0, text }));
        })
          .on("error", reject)
          .end();
      });
      expect(res.status).toBe(200);
      expect(res.text).toContain("[+]etcd ok\n");
    }
  });

  it("refuses a certificate another CA signed, even one naming system:masters", async () => {
    const rogue = await ensureCa(join(dir, "rogue"), "rogue");
    const forged = await issueCertificate(rogue, {
      commonName: "mallory",
      organization: ["system:masters"],
      client: true,
    });
    expect((await call({ cert: forged }, "GET", "/api/v1/pods")).status).toBe(401);
  });

  it.skipIf(!existsSync(kubectl))("answers kubectl auth can-i and can-i --list as RBAC says", async () => {
    const configs: Record<string, string> = {};
    const creds = {
      admin: { token: cp.adminToken },
      viewer: { certPem: viewerCert.certPem, keyPem: viewerCert.keyPem },
      editor: { token: editorToken },
    };
    for (const [user, credentials] of Object.entries(creds)) {
      configs[user] = join(dir, `${user}.kubeconfig`);
      await writeFile(
        configs[user],
        userKubeconfig({ server: cp.apiUrl, caPem: cp.caPem, user, credentials }),
        {
          mode: 0o600,
        },
      );
    }
    const canI = async (user: string, ...args: string[]) =>
      run(kubectl, ["--kubeconfig", configs[user]!, "auth", "can-i", ...args]).then(
        (r) => r.stdout.trim(),
        (err: { stdout?: string; stderr?: string }) => (err.stdout ?? "").trim() || `error: ${err.stderr}`,
      );
    expect(await canI("admin", "create", "clusterrolebindings")).toBe("yes");
    expect(await canI("viewer", "list", "pods", "-A")).toBe("yes");
    expect(await canI("viewer", "create", "configmaps", "-n", "team")).toBe("no");
    expect(await canI("editor", "create", "configmaps", "-n", "team")).toBe("yes");
    expect(await canI("editor", "create", "configmaps", "-n", "default")).toBe("no");
    const list = await canI("editor", "--list", "-n", "team");
    expect(list).toMatch(/^configmaps\s+\[\]\s+\[\]\s+\[.*create.*\]$/m);
    expect(list).toMatch(/selfsubjectaccessreviews\.authorization\.k8s\.io/);
    const viewerList = await canI("viewer", "--list", "-n", "team");
    expect(viewerList).not.toMatch(/^secrets/m);
  });
});
