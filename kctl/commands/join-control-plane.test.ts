import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlPlaneJoinPath } from "../../controlplane/bootstrap/control-plane-join.js";
import { type ControlPlane, startControlPlane } from "../../controlplane/control-plane.js";
import { etcdClient, readEtcdAccess } from "../../controlplane/etcd/etcd-access.js";
import { freePort } from "../../controlplane/etcd/etcd-process.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { caCertHash } from "../../foundation/bootstrap/join-protocol.js";
import { bootstrapTokenSecret } from "../../foundation/bootstrap/token-format.js";
import { call } from "../../node-agent/agent/join.js";
import { ApiClient } from "../client.js";
import { joinControlPlane } from "./join-control-plane.js";

const secrets = resourceForKind("v1", "Secret")!;
const configMaps = resourceForKind("v1", "ConfigMap")!;
const cpToken = "cpjoin.0123456789abcdef";
const nodeToken = "nodejn.0123456789abcdef";

const api = (cp: ControlPlane) =>
  new ApiClient({
    server: cp.apiUrl,
    caPem: cp.caPem,
    token: cp.adminToken,
    insecureSkipTlsVerify: false,
    namespace: "default",
    path: "test",
  });

describe("a second control plane joins with a control-plane token", () => {
  let dir: string;
  let first: ControlPlane | undefined;
  let second: ControlPlane | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-cp-join-"));
    first = await startControlPlane({
      stateDir: join(dir, "cp1"),
      port: 0,
      listenHost: "127.0.0.1",
      dnsPort: 0,
      etcdMember: { name: "cp1" },
    });
    const client = api(first);
    try {
      for (const [token, controlPlane] of [
        [cpToken, true],
        [nodeToken, false],
      ] as const) {
        await client.create(
          secrets,
          "kube-system",
          bootstrapTokenSecret({ token, ttlSeconds: 600, controlPlane }),
        );
      }
    } finally {
      client.close();
    }
  }, 60_000);
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses the cluster's keys to a node's join token and to anyone without a token", async () => {
    const url = new URL(controlPlaneJoinPath, first!.apiUrl);
    const asNode = await call(url, "POST", { ca: first!.caPem, token: nodeToken });
    expect(asNode.status).toBe(403);
    expect(asNode.body).not.toContain("PRIVATE KEY");
    const anonymous = await call(url, "POST", undefined);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).not.toContain("PRIVATE KEY");
  });

  it("gets the shared keys, adds its etcd member, and serves the same cluster", async () => {
    const stateDir = join(dir, "cp2");
    const member = await joinControlPlane({
      server: first!.apiUrl,
      token: cpToken,
      caCertHash: caCertHash(first!.caPem),
      stateDir,
      externalEtcd: false,
      member: {
        name: "cp2",
        clientPort: await freePort(),
        peerPort: await freePort(),
        advertiseHost: "127.0.0.2",
      },
    });
    expect(member.initialClusterState).toBe("existing");
    const initial = (member.initialCluster ?? "").split(",").sort();
    expect(initial).toHaveLength(2);
    expect(initial[0]).toMatch(/^cp1=https:\/\/127\.0\.0\.1:\d+$/);
    expect(initial[1]).toMatch(/^cp2=https:\/\/127\.0\.0\.2:\d+$/);
    second = await startControlPlane({
      stateDir,
      port: 0,
      listenHost: "127.0.0.2",
      advertiseAddresses: ["127.0.0.2"],
      dnsPort: 0,
      etcdMember: member,
    });
    expect(second.caPem).toBe(first!.caPem);
    expect(second.adminToken).toBe(first!.adminToken);
    expect(await readFile(join(stateDir, "pki", "etcd", "ca.crt"), "utf8")).toBe(
      await readFile(join(dir, "cp1", "pki", "etcd", "ca.crt"), "utf8"),
    );
    // ServiceAccount tokens one control plane signs must verify on the other.
    expect(await readFile(join(stateDir, "pki", "sa.key"), "utf8")).toBe(
      await readFile(join(dir, "cp1", "pki", "sa.key"), "utf8"),
    );

    const etcd = await etcdClient(await readEtcdAccess(stateDir));
    try {
      const { members } = await etcd.cluster.memberList({});
      expect(members.map((m) => m.name).sort()).toEqual(["cp1", "cp2"]);
    } finally {
      etcd.close();
    }

    const viaFirst = api(first!);
    const viaSecond = api(second);
    try {
      await viaFirst.create(configMaps, "default", {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "shared" },
        data: { from: "cp1" },
      });
      const read = (await viaSecond.get(configMaps, "default", "shared")) as unknown as {
        data: { from: string };
      };
      expect(read.data.from).toBe("cp1");
    } finally {
      viaFirst.close();
      viaSecond.close();
    }
  }, 120_000);
});
