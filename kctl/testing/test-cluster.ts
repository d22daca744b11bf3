/**
 * A real control plane for kctl's tests: a real etcd (startEtcd), the store, the registry and the
 * HTTPS apiserver on a free port with a CA made by the project's PKI, plus a kctl config pointing at
 * it with a fresh token. `stop()` closes everything and removes the temp dir.
 */

import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { type ApiServer, startApiServer } from "../../controlplane/apiserver/index.js";
import { Registry } from "../../controlplane/registry/index.js";
import { Store } from "../../controlplane/store/index.js";
import { type EtcdServer, startEtcd } from "../../controlplane/testing/etcd-server.js";
import { ensureCa, ensureServingCert } from "../../foundation/pki/pki.js";
import { writeConfig } from "../config.js";

export interface TestCluster {
  registry: Registry;
  server: ApiServer;
  configPath: string;
  token: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startTestCluster(): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), "kctl-cluster-"));
  const cleanups: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const etcd: EtcdServer = await startEtcd();
    cleanups.push(() => etcd.stop());
    const client = new Etcd3({ hosts: etcd.endpoint });
    cleanups.push(async () => client.close());
    const registry = new Registry({ store: new Store({ client, metrics: new MetricsRegistry() }) });
    await registry.ensureSystemNamespaces();
    const ca = await ensureCa(dir);
    const serving = await ensureServingCert(dir, ca, {
      hosts: ["127.0.0.1", "localhost"],
      commonName: "kctl-apiserver",
    });
    const token = randomBytes(16).toString("hex");
    const server = await startApiServer({
      registry,
      port: 0,
      tls: { cert: serving.certPem, key: serving.keyPem },
      authenticate: (t) => (t === token ? { name: "admin" } : undefined),
      metrics: new MetricsRegistry(),
    });
    cleanups.push(() => server.close());
    const configPath = join(dir, "kctl", "config");
    await writeConfig(configPath, { server: server.url, caPem: ca.certPem, token });
    return { registry, server, configPath, token, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
