/**
 * Who may do what, tested as attackers work: against `kctl up` running as a real process (with its
 * etcd child on TLS), each attack comes from outside it with a credential an attacker could hold —
 * a `view` user's certificate, a ServiceAccount token (forged, expired, or of a deleted pod), a join
 * token, one node's certificate, a man-in-the-middle server between `kctl join` and the control
 * plane, and plain access to etcd's port. Each is refused, and each refusal is checked against what
 * the same credential may legitimately do, so a test cannot pass by everything failing.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenSigner } from "../controlplane/serviceaccount/tokens.js";
import { apiCall, type Reply, type Who } from "../controlplane/testing/api-call.js";
import {
  caCertHash,
  clusterInfoKubeconfig,
  clusterInfoPath,
  jwsKeyPrefix,
} from "../foundation/bootstrap/join-protocol.js";
import { detachedJws } from "../foundation/bootstrap/jws.js";
import { ensureCa, ensureServingCert } from "../foundation/pki/pki.js";
import { joinCluster, type NodeCredentials } from "../node-agent/agent/join.js";
import { NodeClient } from "../node-agent/agent/node-client.js";
import { eventually } from "./support/eventually.js";
import { type Background, kctl, kctlUpLocal, requireBuild } from "./support/kctl-process.js";
import { suiteFailed } from "./support/lab-cluster.js";

const kubectlPath = "/usr/bin/kubectl";
const etcdctlPath = "/usr/bin/etcdctl";
const tools = existsSync(kubectlPath) && existsSync(etcdctlPath);
if (!tools) console.warn(`e2e/authz: skipped, ${kubectlPath} or ${etcdctlPath} is missing`);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const delay = (ms: number) => new Promise<undefined>((r) => setTimeout(() => r(undefined), ms));

function runTool(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
    );
  });
}

/** A JWT's part decoded, changed and encoded again (the signature is kept as it was). */
function rewritePart(token: string, index: 0 | 1, change: (part: Record<string, unknown>) => void): string {
  const parts = token.split(".");
  const part = JSON.parse(Buffer.from(parts[index]!, "base64url").toString());
  change(part);
  parts[index] = Buffer.from(JSON.stringify(part)).toString("base64url");
  return parts.join(".");
}

describe.skipIf(!tools)("attacks on who may do what, against kctl up", () => {
  let dir: string;
  let stateDir: string;
  let config: string;
  let up: Background | undefined;
  let apiUrl: string;
  let nodeServiceAddress: string;
  let caPem: string;
  let adminToken: string;
  let joinToken: string;
  let hash: string;
  const workers = new Map<string, NodeCredentials>();
  const clients: NodeClient[] = [];

  const target = () => ({ apiUrl, caPem });
  const call = (who: Who, method: string, path: string, body?: unknown): Promise<Reply> =>
    apiCall(target(), who, method, path, body);
  const admin = (): Who => ({ token: adminToken });
  const kubectl = (kubeconfig: string, ...args: string[]) =>
    runTool(kubectlPath, ["--kubeconfig", kubeconfig, ...args], { ...process.env, HOME: dir });
  const nodeClient = (creds: NodeCredentials) => {
    const client = new NodeClient({ address: nodeServiceAddress, ...creds });
    clients.push(client);
    return client;
  };
  /** `kctl join` as a separate process, the token in a file as the command asks. */
  const kctlJoin = async (server: string, nodeName: string, token: string) => {
    const tokenFile = join(dir, `token-${nodeName}`);
    await writeFile(tokenFile, token, { mode: 0o600 });
    return kctl(
      [
        "join",
        server,
        "--ca-cert-hash",
        hash,
        "--token-file",
        tokenFile,
        "--node-name",
        nodeName,
        "--state-dir",
        join(dir, `agent-${nodeName}`),
      ],
      { config, timeoutMs: 20_000 },
    );
  };
  const object = (kind: string, name: string, extra: object = {}) => ({
    apiVersion: "v1",
    kind,
    metadata: { name, namespace: "team" },
    ...extra,
  });
  const podOn = (name: string, nodeName: string, secretName: string) =>
    object("Pod", name, {
      spec: {
        nodeName,
        containers: [{ name: "c", image: "busybox:1.36" }],
        volumes: [{ name: "s", secret: { secretName } }],
      },
    });

  beforeAll(async () => {
    requireBuild();
    dir = await mkdtemp(join(tmpdir(), "kctl-e2e-authz-"));
    stateDir = join(dir, "state");
    config = join(dir, "config");
    up = kctlUpLocal(stateDir, config, [
      "--audit-log-path",
      join(dir, "audit.log"),
      "--audit-log-level",
      "Request",
    ]);
    const ready = await up.waitFor(/control plane ready: (\S+) \(node service (\S+)\)/, 60_000);
    [, apiUrl, nodeServiceAddress] = /ready: (\S+) \(node service (\S+)\)/.exec(ready)!;
    caPem = await readFile(join(stateDir, "pki", "ca.crt"), "utf8");
    adminToken = (await readFile(join(stateDir, "pki", "admin-token"), "utf8")).trim();
    hash = caCertHash(caPem);

    const created = await kctl(["token", "create", "--ttl", "30m"], { config });
    expect(created.code).toBe(0);
    joinToken = created.stdout.split("\n")[0]!.trim();

    // Two genuine nodes, each joined with its own key and registered (which binds the name to it).
    for (const name of ["worker-1", "worker-2"]) {
      const creds = await eventually(`${name} joins`, () =>
        joinCluster({ server: apiUrl, token: joinToken, nodeName: name, caCertHash: hash }),
      );
      await nodeClient(creds).call("Register", { nodeName: name, capacity: { cpu: "1", pods: "10" } });
      workers.set(name, creds);
    }
    const setup: [string, unknown][] = [
      ["/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } }],
      ["/api/v1/namespaces/team/secrets", object("Secret", "mine", { data: { k: "bWluZQ==" } })],
      ["/api/v1/namespaces/team/secrets", object("Secret", "theirs", { data: { k: "dGhlaXJz" } })],
      ["/api/v1/namespaces/team/pods", podOn("on-1", "worker-1", "mine")],
      ["/api/v1/namespaces/team/pods", podOn("on-2", "worker-2", "theirs")],
    ];
    for (const [path, body] of setup) {
      const res = await eventually(`POST ${path}`, async () => {
        const r = await call(admin(), "POST", path, body);
        if (r.status !== 201) throw new Error(`${r.status} ${r.body.message}`);
        return r;
      });
      expect(res.status).toBe(201);
    }
  }, 120_000);

  // biome-ignore lint/correctness/noEmptyPattern: vitest requires a destructuring first parameter and passes the suite second
  afterAll(async ({}, suite) => {
    for (const c of clients) c.close();
    if (up && suite && suiteFailed(suite)) {
      const logs = join(process.env.KCTL_E2E_LOGS ?? join(tmpdir(), "kctl-e2e-logs"), "authz");
      await mkdir(logs, { recursive: true });
      await writeFile(join(logs, "kctl-up.log"), up.output());
      await cp(join(stateDir, "etcd.log"), join(logs, "etcd.log")).catch(() => undefined);
      console.error(`e2e/authz failed; the control plane's and etcd's logs are kept in ${logs}`);
    }
    await up?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  describe("a user bound to view", () => {
    let viewer: string;
    beforeAll(async () => {
      viewer = join(dir, "viewer.kubeconfig");
      const made = await kctl(
        [
          "kubeconfig",
          "create-user",
          "viewer",
          "--group",
          "viewers",
          "--state-dir",
          stateDir,
          "--output",
          viewer,
        ],
        { config },
      );
      expect(made.code).toBe(0);
      const bound = await kubectl(
        config,
        "create",
        "clusterrolebinding",
        "viewers-view",
        "--clusterrole",
        "view",
        "--group",
        "viewers",
      );
      expect(bound.stderr).toBe("");
      await eventually("the binding reaches the authorizer", async () => {
        const r = await kubectl(viewer, "get", "pods", "-n", "team");
        if (r.code !== 0) throw new Error(r.stderr);
        return true;
      });
    });

    it("reads, but cannot write, delete, read Secrets or grant itself more", async () => {
      const attempts: [string[], RegExp][] = [
        [
          ["create", "configmap", "x", "-n", "team", "--from-literal", "k=v"],
          /configmaps is forbidden: User "viewer" cannot create resource "configmaps" in API group "" in the namespace "team"/,
        ],
        [["delete", "pod", "on-1", "-n", "team"], /pods "on-1" is forbidden: User "viewer" cannot delete/],
        [["get", "secret", "mine", "-n", "team"], /secrets "mine" is forbidden: User "viewer" cannot get/],
        [
          ["create", "clusterrolebinding", "me-admin", "--clusterrole", "cluster-admin", "--user", "viewer"],
          /clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "viewer" cannot create/,
        ],
        [
          ["exec", "on-1", "-n", "team", "--", "true"],
          /pods "on-1" is forbidden: User "viewer" cannot create resource "pods\/exec"/,
        ],
      ];
      for (const [args, refusal] of attempts) {
        const res = await kubectl(viewer, ...args);
        expect(res.code, args.join(" ")).not.toBe(0);
        expect(res.stderr, args.join(" ")).toMatch(refusal);
      }
      expect((await kubectl(viewer, "auth", "can-i", "create", "pods", "-n", "team")).stdout.trim()).toBe(
        "no",
      );
      expect((await kubectl(viewer, "get", "pod", "on-1", "-n", "team", "-o", "name")).stdout.trim()).toBe(
        "pod/on-1",
      );
      // Nothing the refused commands asked for was written.
      expect((await call(admin(), "GET", "/api/v1/namespaces/team/configmaps/x")).status).toBe(404);
      expect((await call(admin(), "GET", "/api/v1/namespaces/team/pods/on-1")).status).toBe(200);
    });
  });

  describe("an attacker with a ServiceAccount token", () => {
    let podToken: string;
    const podsPath = "/api/v1/namespaces/team/pods";

    beforeAll(async () => {
      const bound = await kubectl(
        config,
        "create",
        "rolebinding",
        "default-view",
        "-n",
        "team",
        "--clusterrole",
        "view",
        "--serviceaccount",
        "team:default",
      );
      expect(bound.stderr).toBe("");
      await kubectl(config, "run", "holder", "-n", "team", "--image", "busybox:1.36", "--restart", "Never");
      const minted = await eventually("a token bound to the pod", async () => {
        const r = await kubectl(
          config,
          "create",
          "token",
          "default",
          "-n",
          "team",
          "--bound-object-kind",
          "Pod",
          "--bound-object-name",
          "holder",
        );
        if (r.code !== 0) throw new Error(r.stderr);
        return r.stdout.trim();
      });
      podToken = minted;
      await eventually("the token's binding reaches the authorizer", async () => {
        const r = await call({ token: podToken }, "GET", podsPath);
        if (r.status !== 200) throw new Error(`${r.status} ${r.body.message}`);
        return true;
      });
    });

    it("cannot change its claims, drop its signature, or sign with its own key", async () => {
      const forgedClaims = rewritePart(podToken, 1, (claims) => {
        claims.sub = "system:serviceaccount:kube-system:default";
        (claims["kubernetes.io"] as { namespace: string }).namespace = "kube-system";
      });
      const unsigned = `${rewritePart(podToken, 0, (head) => {
        head.alg = "none";
      })
        .split(".")
        .slice(0, 2)
        .join(".")}.`;
      const claims = JSON.parse(Buffer.from(podToken.split(".")[1]!, "base64url").toString());
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const ownKey = new TokenSigner(privateKey).issue({
        namespace: "team",
        serviceAccount: claims["kubernetes.io"].serviceaccount,
        audiences: claims.aud,
        expirationSeconds: 3600,
        nowMs: Date.now(),
      }).token;
      for (const [what, token] of [
        ["changed claims", forgedClaims],
        ["alg none", unsigned],
        ["another key", ownKey],
      ]) {
        const res = await call({ token: token! }, "GET", podsPath);
        expect(res.status, what).toBe(401);
      }
      expect((await call({ token: podToken }, "GET", podsPath)).status).toBe(200);
    });

    it("cannot use a token past its expiry, even one the cluster's key signed", async () => {
      // What an attacker who copied a token long ago holds: genuinely signed, expired an hour since.
      const { createPrivateKey } = await import("node:crypto");
      const key = createPrivateKey(await readFile(join(stateDir, "pki", "sa.key")));
      const claims = JSON.parse(Buffer.from(podToken.split(".")[1]!, "base64url").toString());
      const expired = new TokenSigner(key).issue({
        namespace: "team",
        serviceAccount: claims["kubernetes.io"].serviceaccount,
        audiences: claims.aud,
        expirationSeconds: 3600,
        nowMs: Date.now() - 2 * 3600_000,
      }).token;
      const fresh = new TokenSigner(key).issue({
        namespace: "team",
        serviceAccount: claims["kubernetes.io"].serviceaccount,
        audiences: claims.aud,
        expirationSeconds: 3600,
        nowMs: Date.now(),
      }).token;
      expect((await call({ token: expired }, "GET", podsPath)).status).toBe(401);
      expect((await call({ token: fresh }, "GET", podsPath)).status).toBe(200);
    });

    it("cannot use a pod's token once the pod is deleted", async () => {
      // Bound to a node no agent runs on, the pod would wait for its graceful end; force it gone.
      const deleted = await kubectl(
        config,
        "delete",
        "pod",
        "holder",
        "-n",
        "team",
        "--grace-period=0",
        "--force",
      );
      expect(deleted.code).toBe(0);
      await eventually("the deleted pod's token is refused", async () => {
        const r = await call({ token: podToken }, "GET", podsPath);
        if (r.status !== 401) throw new Error(`still ${r.status}`);
        return true;
      });
      const res = await runTool(
        kubectlPath,
        [
          "--server",
          apiUrl,
          "--certificate-authority",
          join(stateDir, "pki", "ca.crt"),
          "--token",
          podToken,
          "get",
          "pods",
          "-n",
          "team",
        ],
        { ...process.env, HOME: dir },
      );
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/Unauthorized/);
    });
  });

  describe("an attacker holding a join token", () => {
    it("cannot use it on the API", async () => {
      const res = await call({ token: joinToken }, "GET", "/api/v1/namespaces/kube-system/secrets");
      expect(res.status).toBe(403);
      expect(res.body.message).toMatch(
        /^user "system:bootstrap:\w+" \(a bootstrap token\) may only join nodes$/,
      );
    });

    it("cannot join under the name of a node that exists", async () => {
      for (const name of ["worker-1", "worker-2"]) {
        const joined = await kctlJoin(apiUrl, name, joinToken);
        expect(joined.code, name).not.toBe(0);
        expect(joined.stderr).toMatch(new RegExp(`HTTP 403: node "${name}" exists`));
      }
    });

    it("cannot join with a token an admin deleted", async () => {
      const spare = (await kctl(["token", "create", "--ttl", "10m"], { config })).stdout
        .split("\n")[0]!
        .trim();
      expect((await kctl(["token", "delete", spare.split(".")[0]!], { config })).code).toBe(0);
      await eventually("the deleted token no longer signs cluster-info", async () => {
        const joined = await kctlJoin(apiUrl, "late-node", spare);
        if (joined.code === 0 || !/not signed with token/.test(joined.stderr)) throw new Error(joined.stderr);
        return true;
      });
    });
  });

  describe("an attacker holding worker-1's certificate", () => {
    const worker1 = () => nodeClient(workers.get("worker-1")!);

    it("cannot read a Secret only another node's pod uses, nor the join tokens, but reads its own pod's", async () => {
      const n1 = worker1();
      const id = joinToken.split(".")[0]!;
      for (const [namespace, name] of [
        ["team", "theirs"],
        ["kube-system", `bootstrap-token-${id}`],
      ]) {
        await expect(n1.call("GetObject", { kind: "Secret", namespace, name })).rejects.toMatchObject({
          reason: "Forbidden",
        });
      }
      const mine = await n1.call("GetObject", { kind: "Secret", namespace: "team", name: "mine" });
      expect(JSON.parse(mine.objectJson.toString()).metadata.name).toBe("mine");
    });

    it("cannot act as worker-2, claim its hostname label, or report a pod IP outside its CIDR", async () => {
      const n1 = worker1();
      await expect(n1.call("Register", { nodeName: "worker-2" })).rejects.toMatchObject({
        reason: "Forbidden",
      });
      await expect(
        n1.call("Register", { nodeName: "worker-1", labels: { "kubernetes.io/hostname": "worker-2" } }),
      ).rejects.toMatchObject({ reason: "Forbidden" });
      const theirs = await call(admin(), "GET", "/api/v1/namespaces/team/pods/on-2");
      await expect(
        n1.call("ReportPodStatus", {
          namespace: "team",
          name: "on-2",
          uid: (theirs.body.metadata as { uid: string }).uid,
          statusJson: Buffer.from(JSON.stringify({ phase: "Failed" })),
        }),
      ).rejects.toMatchObject({ reason: "Forbidden" });
      const mine = await call(admin(), "GET", "/api/v1/namespaces/team/pods/on-1");
      await expect(
        n1.call("ReportPodStatus", {
          namespace: "team",
          name: "on-1",
          uid: (mine.body.metadata as { uid: string }).uid,
          // A Service's cluster IP: Service traffic would follow it.
          statusJson: Buffer.from(JSON.stringify({ phase: "Running", podIP: "10.96.0.10" })),
        }),
      ).rejects.toMatchObject({ reason: "Forbidden" });
      const node2 = await call(admin(), "GET", "/api/v1/nodes/worker-2");
      expect(
        (node2.body.metadata as { labels: Record<string, string> }).labels["kubernetes.io/hostname"],
      ).toBe("worker-2");
      const pod2 = await call(admin(), "GET", "/api/v1/namespaces/team/pods/on-2");
      expect((pod2.body.status as { phase?: string }).phase).not.toBe("Failed");
    });

    it("on the HTTPS API reads only what its pods need, and writes nothing", async () => {
      const node = { cert: workers.get("worker-1")! };
      const mine = await call(node, "GET", "/api/v1/namespaces/team/secrets/mine");
      expect(mine.status).toBe(200);
      expect((mine.body.data as { k: string }).k).toBe("bWluZQ==");
      expect((await call(node, "GET", "/api/v1/namespaces/team/pods")).status).toBe(200);
      const theirs = await call(node, "GET", "/api/v1/namespaces/team/secrets/theirs");
      expect(theirs.status).toBe(403);
      expect(theirs.body.message).toBe(
        'secrets "theirs" is forbidden: User "system:node:worker-1" cannot get resource "secrets" in API group "" ' +
          "in the namespace \"team\": no relationship found between node 'worker-1' and this object",
      );
      const all = await call(node, "GET", "/api/v1/namespaces/kube-system/secrets");
      expect(all.status).toBe(403);
      expect(all.body.message).toMatch(/cannot list .*: can only get individual resources of this type$/);
      for (const [method, path, body] of [
        ["DELETE", "/api/v1/nodes/worker-2", undefined],
        ["DELETE", "/api/v1/namespaces/team/pods/on-2", undefined],
        ["POST", "/api/v1/namespaces/team/secrets", object("Secret", "planted")],
        ["PUT", "/api/v1/namespaces/team/secrets/mine", object("Secret", "mine", { data: { k: "eA==" } })],
      ] as const) {
        expect((await call(node, method, path, body)).status, `${method} ${path}`).toBe(403);
      }
      expect((await call(admin(), "GET", "/api/v1/nodes/worker-2")).status).toBe(200);
    });
  });

  describe("an attacker holding worker-2's certificate after kctl certificate revoke", () => {
    it("is cut off at once: its open stream is closed, NodeService, HTTPS and join refuse its key", async () => {
      const creds = workers.get("worker-2")!;
      const n2 = nodeClient(creds);
      const podsPath = "/api/v1/namespaces/team/pods";
      expect((await call({ cert: creds }, "GET", podsPath)).status).toBe(200);
      const stream = n2.watchPods({ nodeName: "worker-2" });
      const opened = new Promise<void>((resolve) => stream.once("data", () => resolve()));
      const ended = new Promise<string>((resolve) => {
        stream.on("data", () => {});
        stream.on("error", (err: { code?: number }) => resolve(`error ${err.code}`));
        stream.on("end", () => resolve("end"));
      });
      // on-2 is bound to worker-2: its event shows the stream is open.
      await opened;

      // Bad input names what is wrong and writes nothing.
      const missing = await kctl(["certificate", "revoke", "no-such-node"], { config });
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toMatch(/NotFound.*"no-such-node" not found/);
      const usage = await kctl(["certificate", "revoke"], { config });
      expect(usage.code).not.toBe(0);
      expect(usage.stderr).toMatch(/kctl certificate revoke takes one NODE/);
      const list = "/api/v1/namespaces/kube-system/secrets/kctl-revoked-node-keys";
      expect((await call(admin(), "GET", list)).status).toBe(404);

      const revoked = await kctl(["certificate", "revoke", "worker-2"], { config });
      expect(revoked.stderr).toBe("");
      expect(revoked.stdout).toMatch(
        /^node "worker-2" deleted; certificates with its key sha256:[0-9a-f]{64} are revoked$/m,
      );
      expect(await Promise.race([ended, delay(10_000).then(() => "still open")])).toMatch(/^error|^end/);

      await expect(n2.call("Register", { nodeName: "worker-2" })).rejects.toMatchObject({
        reason: "ServiceUnavailable",
      });
      const https = await call({ cert: creds }, "GET", podsPath);
      expect(https.status).toBe(401);
      expect(https.body.message).toBe(
        'Unauthorized: the client certificate of "system:node:worker-2" has a revoked key',
      );
      await expect(
        joinCluster({ server: apiUrl, token: joinToken, nodeName: "worker-2", caPem, keyPem: creds.keyPem }),
      ).rejects.toThrow(/HTTP 403: the CSR's key sha256:[0-9a-f]{64} was revoked/);
      // The name itself is free again, for a node with a new key.
      const fresh = await joinCluster({ server: apiUrl, token: joinToken, nodeName: "worker-2", caPem });
      await nodeClient(fresh).call("Register", { nodeName: "worker-2", capacity: { cpu: "1" } });
      // worker-1 is untouched.
      expect((await call({ cert: workers.get("worker-1")! }, "GET", podsPath)).status).toBe(200);
    });
  });

  describe("a man in the middle between kctl join and the control plane", () => {
    let mitm: Server;
    let mitmUrl: string;
    let relayGenuine = false;
    const seen: string[] = [];

    const genuineClusterInfo = () =>
      new Promise<string>((resolve, reject) => {
        request(`${apiUrl}${clusterInfoPath}`, { ca: caPem }, (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve(body));
        })
          .on("error", reject)
          .end();
      });

    beforeAll(async () => {
      const rogueCa = await ensureCa(join(dir, "rogue"), "rogue");
      const serving = await ensureServingCert(join(dir, "rogue"), rogueCa, {
        commonName: "kctl-apiserver",
        hosts: ["127.0.0.1"],
      });
      mitm = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
        let body = "";
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("end", async () => {
          seen.push(JSON.stringify(req.headers) + body);
          if (req.url !== clusterInfoPath) {
            res.writeHead(201, { "content-type": "application/json" }).end("{}");
          } else if (relayGenuine) {
            res.writeHead(200, { "content-type": "application/json" }).end(await genuineClusterInfo());
          } else {
            // Pointing at the attacker's CA, signed with a guess at the token's secret.
            const kubeconfig = clusterInfoKubeconfig(mitmUrl, rogueCa.certPem);
            const id = joinToken.split(".")[0]!;
            const data = {
              kubeconfig,
              [`${jwsKeyPrefix}${id}`]: detachedJws(kubeconfig, id, "guessguessguess0"),
            };
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data }));
          }
        });
      });
      await new Promise<void>((resolve) => mitm.listen(0, "127.0.0.1", resolve));
      mitmUrl = `https://127.0.0.1:${(mitm.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      mitm?.closeAllConnections();
      await new Promise((r) => mitm?.close(r));
    });

    for (const [what, relay, refusal] of [
      ["forges cluster-info", false, /bad signature/],
      ["relays the genuine cluster-info", true, /not signed by the cluster CA/],
    ] as const) {
      it(`gets no token when it ${what}`, async () => {
        relayGenuine = relay;
        seen.length = 0;
        const joined = await kctlJoin(mitmUrl, "victim", joinToken);
        expect(seen.length).toBeGreaterThan(0);
        const secret = joinToken.split(".")[1]!;
        expect(seen.some((r) => r.includes(secret))).toBe(false);
        expect(joined.code).not.toBe(0);
        expect(joined.stderr).toMatch(refusal);
      });
    }
  });

  describe("the audit log (--audit-log-level Request)", () => {
    it("records who was refused what, and no Secret's data", async () => {
      const events = (await readFile(join(dir, "audit.log"), "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      const refused = events.find(
        (e) => e.user.username === "viewer" && e.verb === "create" && e.objectRef?.resource === "configmaps",
      );
      expect(refused).toMatchObject({
        apiVersion: "audit.k8s.io/v1",
        level: "Metadata",
        objectRef: { resource: "configmaps", namespace: "team", apiGroup: "" },
        responseStatus: { code: 403, reason: "Forbidden" },
        annotations: { "authorization.k8s.io/decision": "forbid" },
      });
      expect(refused.userAgent).toMatch(/^kubectl\//);
      const secret = events.find((e) => e.verb === "create" && e.objectRef?.resource === "secrets");
      expect(secret).toMatchObject({ level: "Metadata", user: { username: "admin" } });
      expect(secret.requestObject).toBeUndefined();
      expect(secret.annotations).toBeUndefined();
      const pod = events.find(
        (e) =>
          e.verb === "create" && e.objectRef?.resource === "pods" && e.objectRef?.subresource === undefined,
      );
      expect(pod).toMatchObject({ level: "Request", requestObject: { kind: "Pod" } });
      expect(JSON.stringify(events)).not.toContain("bWluZQ==");
    });
  });

  describe("a local user reaching etcd's port", () => {
    const etcdctl = async (...args: string[]) => {
      const access = JSON.parse(await readFile(join(stateDir, "etcd-access.json"), "utf8")) as {
        endpoints: string[];
      };
      return runTool(
        etcdctlPath,
        [
          "--endpoints",
          access.endpoints.join(","),
          "--dial-timeout",
          "2s",
          "--command-timeout",
          "3s",
          ...args,
          "get",
          "/registry/",
          "--prefix",
          "--keys-only",
          "--limit",
          "1",
        ],
        { ...process.env, ETCDCTL_API: "3" },
      );
    };

    it("is refused without a client certificate, and with a node's", async () => {
      const worker1 = workers.get("worker-1")!;
      await writeFile(join(dir, "node.crt"), worker1.certPem);
      await writeFile(join(dir, "node.key"), worker1.keyPem, { mode: 0o600 });
      for (const [what, flags] of [
        ["no certificate", ["--insecure-skip-tls-verify"]],
        [
          "a node's certificate",
          ["--insecure-skip-tls-verify", "--cert", join(dir, "node.crt"), "--key", join(dir, "node.key")],
        ],
      ] as const) {
        const res = await etcdctl(...flags);
        expect(res.code, what).not.toBe(0);
        expect(res.stdout, what).toBe("");
      }
      const pki = join(stateDir, "pki");
      const apiserver = await etcdctl(
        "--cacert",
        join(pki, "etcd", "ca.crt"),
        "--cert",
        join(pki, "apiserver-etcd-client.crt"),
        "--key",
        join(pki, "apiserver-etcd-client.key"),
      );
      expect(apiserver.stderr).toBe("");
      expect(apiserver.stdout).toMatch(/^\/registry\//m);
    });
  });
});
