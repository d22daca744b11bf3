import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userKubeconfig } from "../kctl/commands/kubeconfig.js";
import { runKctl } from "../kctl/testing/run-kctl.js";
import { type ControlPlane, startControlPlane } from "./control-plane.js";
import { apiCall, type Reply, type Who } from "./testing/api-call.js";

const run = promisify(execFile);
const kubectl = "/usr/bin/kubectl";

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** ServiceAccounts on a real control plane: accounts, admission, TokenRequest, bound tokens. */
describe("ServiceAccounts on a real control plane", () => {
  let dir: string;
  let cp: ControlPlane;
  const admin = (): Who => ({ token: cp.adminToken });
  // The admin's kubeconfig, for kctl and kubectl.
  let config: string;
  const call = (who: Who, method: string, path: string, body?: unknown): Promise<Reply> =>
    apiCall(cp, who, method, path, body);
  const pod = (name: string, spec: Record<string, unknown> = {}) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { containers: [{ name: "app", image: "kctl.local/busybox:debian" }], ...spec },
  });
  const tokenFor = (account: string, spec: Record<string, unknown>) =>
    call(admin(), "POST", `/api/v1/namespaces/shop/serviceaccounts/${account}/token`, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec,
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-sa-"));
    cp = await startControlPlane({ stateDir: dir, port: 0, listenHost: "127.0.0.1", dnsPort: 0 });
    config = join(dir, "admin.kubeconfig");
    await writeFile(
      config,
      userKubeconfig({
        server: cp.apiUrl,
        caPem: cp.caPem,
        user: "admin",
        credentials: { token: cp.adminToken },
      }),
    );
    expect(
      (
        await call(admin(), "POST", "/api/v1/namespaces", {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: "shop" },
        })
      ).status,
    ).toBe(201);
    const robot = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "robot" } };
    expect((await call(admin(), "POST", "/api/v1/namespaces/shop/serviceaccounts", robot)).status).toBe(201);
  });
  afterAll(async () => {
    await cp?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("gives every namespace a default account and the cluster CA", async () => {
    for (const ns of ["default", "kube-system", "shop"]) {
      await until(`${ns}/default`, async () => {
        const sa = await call(admin(), "GET", `/api/v1/namespaces/${ns}/serviceaccounts/default`);
        const cm = await call(admin(), "GET", `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`);
        return (
          sa.status === 200 &&
          cm.status === 200 &&
          (cm.body.data as Record<string, string>)["ca.crt"] === cp.caPem
        );
      });
    }
  });

  it("admits a pod with its account's token volume, and refuses one whose account does not exist", async () => {
    const created = await call(
      admin(),
      "POST",
      "/api/v1/namespaces/shop/pods",
      pod("web", { serviceAccountName: "robot" }),
    );
    expect(created.status).toBe(201);
    const spec = created.body.spec as {
      serviceAccountName: string;
      volumes: { name: string; projected?: unknown }[];
      containers: { volumeMounts: { mountPath: string; readOnly: boolean }[] }[];
    };
    expect(spec.serviceAccountName).toBe("robot");
    expect(spec.volumes[0]?.name).toMatch(/^kube-api-access-[a-z0-9]{5}$/);
    expect(spec.containers[0]?.volumeMounts).toEqual([
      expect.objectContaining({ mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true }),
    ]);
    const refused = await call(
      admin(),
      "POST",
      "/api/v1/namespaces/shop/pods",
      pod("ghost", { serviceAccountName: "nobody" }),
    );
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain('serviceaccount "nobody" not found');
    expect((await call(admin(), "GET", "/api/v1/namespaces/shop/pods/ghost")).status).toBe(404);
  });

  it("admits pods created right after their accounts, each time", async () => {
    for (let i = 0; i < 30; i++) {
      const account = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: `quick-${i}` } };
      expect((await call(admin(), "POST", "/api/v1/namespaces/shop/serviceaccounts", account)).status).toBe(
        201,
      );
      const created = await call(
        admin(),
        "POST",
        "/api/v1/namespaces/shop/pods",
        pod(`quick-${i}`, { serviceAccountName: `quick-${i}` }),
      );
      expect(created.body.message, `pod quick-${i}`).toBeUndefined();
      expect((created.body.spec as { serviceAccountName: string }).serviceAccountName).toBe(`quick-${i}`);
    }
  });

  it("applies a ServiceAccount and a pod running as it in one kctl apply, in either order in the file", async () => {
    for (let i = 0; i < 10; i++) {
      const account = `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: applied-${i}, namespace: shop}\n`;
      const runner = `apiVersion: v1\nkind: Pod\nmetadata: {name: applied-${i}, namespace: shop}\nspec:\n  serviceAccountName: applied-${i}\n  containers: [{name: app, image: kctl.local/busybox:debian}]\n`;
      const stdin = i % 2 === 0 ? `${account}---\n${runner}` : `${runner}---\n${account}`;
      expect(await runKctl(["apply", "-f", "-"], { env: { KCTL_CONFIG: config }, stdin })).toEqual({
        code: 0,
        stdout: `serviceaccount/applied-${i} created\npod/applied-${i} created\n`,
        stderr: "",
      });
      const applied = await call(admin(), "GET", `/api/v1/namespaces/shop/pods/applied-${i}`);
      expect((applied.body.spec as { serviceAccountName: string }).serviceAccountName).toBe(`applied-${i}`);
    }
  });

  it("mints a pod-bound token that authenticates as the account until the pod is deleted", async () => {
    const web = await call(admin(), "GET", "/api/v1/namespaces/shop/pods/web");
    const uid = (web.body.metadata as { uid: string }).uid;
    const issued = await tokenFor("robot", {
      boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "web", uid },
    });
    expect(issued.status).toBe(201);
    const token = (issued.body.status as { token: string }).token;
    const robot: Who = { token };
    await until("the account in the authenticator's cache", async () => {
      const r = await call(robot, "GET", "/api/v1/namespaces/shop/pods");
      return r.status === 403;
    });
    const denied = await call(robot, "GET", "/api/v1/namespaces/shop/pods");
    expect(denied.body.message).toContain(
      'User "system:serviceaccount:shop:robot" cannot list resource "pods"',
    );
    const binding = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "robot-view" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "ServiceAccount", name: "robot", namespace: "shop" }],
    };
    expect(
      (
        await call(
          admin(),
          "POST",
          "/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings",
          binding,
        )
      ).status,
    ).toBe(201);
    await until(
      "the binding to apply",
      async () => (await call(robot, "GET", "/api/v1/namespaces/shop/pods")).status === 200,
    );
    // An unscheduled pod goes at once; its token goes with it.
    expect((await call(admin(), "DELETE", "/api/v1/namespaces/shop/pods/web")).status).toBe(200);
    await until(
      "the token to die with its pod",
      async () => (await call(robot, "GET", "/api/v1/namespaces/shop/pods")).status === 401,
    );
  });

  it("refuses tokens upstream refuses, naming the field", async () => {
    const short = await tokenFor("robot", { expirationSeconds: 60 });
    expect(short.status).toBe(422);
    expect(short.body.message).toContain("spec.expirationSeconds");
    const other = await tokenFor("robot", {
      boundObjectRef: { kind: "Secret", apiVersion: "v1", name: "x" },
    });
    expect(other.status).toBe(422);
    expect(other.body.message).toContain("spec.boundObjectRef.kind");
    expect((await tokenFor("nobody", {})).status).toBe(404);
  });

  it.skipIf(!existsSync(kubectl))("answers kubectl create token with a token that works", async () => {
    const { stdout } = await run(kubectl, [
      "--kubeconfig",
      config,
      "-n",
      "shop",
      "create",
      "token",
      "robot",
      "--duration",
      "15m",
    ]);
    const token = stdout.trim();
    expect(token.split(".")).toHaveLength(3);
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    expect(claims.sub).toBe("system:serviceaccount:shop:robot");
    expect(claims.exp - claims.iat).toBe(900);
    expect((await call({ token }, "GET", "/api/v1/namespaces/shop/pods")).status).toBe(200);
  });
});
