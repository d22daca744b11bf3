/**
 * pods/portforward driven by stock kubectl (SPDY tunneled in a WebSocket, and the plain SPDY
 * fallback) and by a raw WebSocket in the v4 channel form, against a real apiserver and etcd. The
 * node's end of the tunnel is a stand-in that dials a local server for the pod's port, honouring
 * the credit window as the agent does, so what is under test is the protocol between the client
 * and the tunnel; the lab's e2e suite runs it into real pods (and netns-connect.test.ts the
 * agent's helper).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createHttpServer, type Server as HttpServer, get as httpGet } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { resourceForKind } from "../../foundation/api/resources.js";
import { ensureCa, ensureServingCert } from "../../foundation/pki/pki.js";
import { writeConfig } from "../../kctl/config.js";
import { runKctl } from "../../kctl/testing/run-kctl.js";
import type { TunnelFrame } from "../../proto/gen/node.js";
import { type ApiServer, startApiServer } from "../apiserver/index.js";
import { Registry } from "../registry/index.js";
import { Store } from "../store/index.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { portForwardWindow } from "./pod-port.js";
import { parsePortsQuery, portForwardHandler } from "./portforward.js";
import { TunnelRegistry } from "./tunnels.js";

const token = "portforward-test-token-0123456789";

interface StandIn {
  /** Pod port → local port of the server standing in for the pod's. */
  ports: Map<number, number>;
  sockets: Map<number, Socket>;
  /** The most bytes ever sent toward the control plane and not yet acknowledged. */
  maxUnacked: number;
  cancelled: number;
}

/** The node's end of the tunnel: each port-forward stream dials the stand-in pod's server. */
function standInNode(tunnels: TunnelRegistry, node: string): StandIn {
  const state: StandIn = { ports: new Map(), sockets: new Map(), maxUnacked: 0, cancelled: 0 };
  const unacked = new Map<number, number>();
  const reply = (frame: Partial<TunnelFrame> & { streamId: number }, kind: TunnelFrame["frame"]) =>
    tunnels.receive(node, { ...frame, frame: kind } as TunnelFrame);
  tunnels.attach(node, {
    send(frame) {
      const id = frame.streamId;
      const socket = state.sockets.get(id);
      if (frame.portForward) {
        const local = state.ports.get(frame.portForward.port);
        const s = connect(local ?? 1, "127.0.0.1");
        state.sockets.set(id, s);
        unacked.set(id, 0);
        s.on("data", (d: Buffer) => {
          const n = unacked.get(id)! + d.length;
          unacked.set(id, n);
          state.maxUnacked = Math.max(state.maxUnacked, n);
          if (n > portForwardWindow) s.pause();
          reply({ streamId: id, stdout: d }, "stdout");
        });
        s.on("error", (err) => {
          state.sockets.delete(id);
          reply(
            {
              streamId: id,
              end: { exitCode: 2, error: `failed to connect: ${err.message}`, reason: "InternalError" },
            },
            "end",
          );
        });
        s.on("end", () => {
          if (state.sockets.delete(id))
            reply({ streamId: id, end: { exitCode: 0, error: "", reason: "" } }, "end");
        });
      } else if (frame.stdin) {
        const n = frame.stdin.length;
        socket?.write(frame.stdin, () => reply({ streamId: id, ack: n }, "ack"));
      } else if (frame.stdinClosed) socket?.end();
      else if (frame.ack) {
        const n = unacked.get(id)! - frame.ack;
        unacked.set(id, n);
        if (n <= portForwardWindow) socket?.resume();
      } else if (frame.end) {
        state.cancelled++;
        state.sockets.delete(id);
        socket?.destroy();
      }
    },
  });
  return state;
}

describe("parsePortsQuery", () => {
  it("takes repeated and comma-separated ports and names a bad one", () => {
    expect(parsePortsQuery(new URLSearchParams("ports=80,81&ports=9000"))).toEqual([80, 81, 9000]);
    expect(() => parsePortsQuery(new URLSearchParams(""))).toThrow(/ports: at least one port/);
    expect(() => parsePortsQuery(new URLSearchParams("ports=70000"))).toThrow(/invalid port "70000"/);
  });
});

describe.skipIf(!existsSync("/usr/bin/kubectl"))("port-forward", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  let store: Store;
  let server: ApiServer;
  let dir: string;
  let node: StandIn;
  let web: HttpServer;
  let sink: Server;
  const children: ChildProcess[] = [];
  let caPem: string;

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    const metrics = new MetricsRegistry();
    store = new Store({ client, metrics });
    const registry = new Registry({ store });
    await registry.ensureSystemNamespaces();
    const pods = resourceForKind("v1", "Pod")!;
    await registry.create(pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "default" },
      spec: { nodeName: "n1", containers: [{ name: "c", image: "busybox" }] },
    });
    await registry.patchStatus(pods, "default", "p", { status: { phase: "Running" } }, { type: "merge" });
    const tunnels = new TunnelRegistry();
    node = standInNode(tunnels, "n1");
    web = createHttpServer((req, res) => {
      if (req.url === "/big") res.end(Buffer.alloc(16 * 1024 * 1024, 7));
      else res.end(`hello from the pod: ${req.url}`);
    });
    await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
    // Echoes what it is sent, and says "bye" after the client's half-close.
    sink = createServer((s) => {
      s.on("data", (d) => s.write(d));
      s.on("end", () => s.end("bye"));
    });
    await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
    node.ports.set(80, (web.address() as { port: number }).port);
    node.ports.set(7, (sink.address() as { port: number }).port);
    dir = await mkdtemp(join(tmpdir(), "kctl-portforward-"));
    const ca = await ensureCa(dir);
    caPem = ca.certPem;
    const cert = await ensureServingCert(dir, ca, { hosts: ["127.0.0.1"], commonName: "apiserver" });
    server = await startApiServer({
      registry,
      port: 0,
      metrics,
      tls: { cert: cert.certPem, key: cert.keyPem },
      authenticate: (t) => (t === token ? { name: "admin" } : undefined),
      upgradeHandlers: { portforward: portForwardHandler(registry, tunnels) },
    });
  });

  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    await server?.close();
    web?.close();
    sink?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    store?.close();
    client?.close();
    await etcd?.stop();
  });

  /** Starts `kubectl port-forward`; resolves with the local port it printed. */
  async function portForward(
    ports: string,
    env: Record<string, string> = {},
  ): Promise<{ port: number; child: ChildProcess; stderr: () => string }> {
    const child = spawn(
      "/usr/bin/kubectl",
      [
        `--server=${server.url}`,
        `--token=${token}`,
        "--insecure-skip-tls-verify",
        "-v=4",
        "port-forward",
        "pod/p",
        ports,
      ],
      { env: { ...process.env, KUBECONFIG: "/dev/null", HOME: dir, ...env } },
    );
    children.push(child);
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    let stdout = "";
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        stdout += d.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(stdout);
        if (m) resolve(Number(m[1]));
      });
      child.on("close", (code) => reject(new Error(`kubectl exited ${code}: ${stderr}`)));
    });
    return { port, child, stderr: () => stderr };
  }

  function fetchLocal(port: number, path: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      httpGet({ host: "127.0.0.1", port, path }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () => resolve(Buffer.concat(parts)));
      }).on("error", reject);
    });
  }

  /** Sends `data` on a fresh connection, half-closes, and returns everything read until EOF. */
  function roundTrip(port: number, data: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => s.end(data));
      const parts: Buffer[] = [];
      s.on("data", (d: Buffer) => parts.push(d));
      s.on("end", () => resolve(Buffer.concat(parts)));
      s.on("error", reject);
    });
  }

  for (const [form, env] of [
    ["SPDY in a WebSocket (kubectl's default)", {}],
    ["plain SPDY (kubectl's fallback)", { KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" }],
  ] as const) {
    it(`${form}: HTTP requests, bulk both ways with the half-close passed on`, async () => {
      const pf = await portForward("0:80", env);
      expect((await fetchLocal(pf.port, "/one")).toString()).toBe("hello from the pod: /one");
      expect((await fetchLocal(pf.port, "/two")).toString()).toBe("hello from the pod: /two");
      const big = await fetchLocal(pf.port, "/big");
      expect(big.length).toBe(16 * 1024 * 1024);
      // The pod's sender was held to the window while kubectl read 16 MiB.
      expect(node.maxUnacked).toBeLessThanOrEqual(portForwardWindow + 64 * 1024);
      // -v=4 shows which dialer kubectl ended up with.
      if (form.startsWith("plain")) expect(pf.stderr()).not.toContain("tunneling_dialer");
      else expect(pf.stderr()).toContain("negotiated protocol: portforward.k8s.io");
      pf.child.kill("SIGTERM");
      const pf7 = await portForward("0:7", env);
      const payload = randomBytes(4 * 1024 * 1024);
      const back = await roundTrip(pf7.port, payload);
      expect(back.subarray(0, payload.length).equals(payload)).toBe(true);
      expect(back.subarray(payload.length).toString()).toBe("bye");
      pf7.child.kill("SIGTERM");
    });
  }

  it("reports a refused connection on the error stream, as kubectl prints it", async () => {
    const pf = await portForward("0:9");
    const s = connect(pf.port, "127.0.0.1");
    s.on("error", () => undefined);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (
          /an error occurred forwarding \d+ -> 9: error forwarding port 9 to pod default\/p/.test(pf.stderr())
        ) {
          clearInterval(poll);
          resolve();
        }
      }, 50);
    });
    expect(pf.stderr()).toMatch(/failed to connect/);
    pf.child.kill("SIGKILL");
  });

  it("closes the pod's side when the client's connection is cut", async () => {
    const pf = await portForward("0:7");
    const before = node.cancelled;
    const s = connect(pf.port, "127.0.0.1");
    s.write("hi");
    await new Promise((r) => s.once("data", r));
    pf.child.kill("SIGKILL");
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (node.cancelled > before) {
          clearInterval(poll);
          resolve();
        }
      }, 50);
    });
    s.destroy();
  });

  it("serves the v4 channel form: port prefix per channel, data on 2i", async () => {
    const url = `${server.url.replace("https", "wss")}/api/v1/namespaces/default/pods/p/portforward?ports=7`;
    const ws = new WebSocket(url, ["v4.channel.k8s.io"], {
      headers: { authorization: `Bearer ${token}` },
      rejectUnauthorized: false,
    });
    const messages: Buffer[] = [];
    ws.on("message", (m: Buffer) => messages.push(m));
    await new Promise((r) => ws.once("open", r));
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("ping")]));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (messages.some((m) => m[0] === 0 && m.subarray(1).toString() === "ping")) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    expect(messages.slice(0, 2).map((m) => [...m])).toEqual([
      [0, 7, 0],
      [1, 7, 0],
    ]);
    ws.close();
  });

  it("kctl port-forward carries HTTP and bulk data through the channel form", async () => {
    const configPath = join(dir, "kctl-config");
    await writeConfig(configPath, { server: server.url, caPem, token });
    const stop = new AbortController();
    let ready: (port: number) => void;
    const portPrinted = new Promise<number>((r) => (ready = r));
    const run = runKctl(["--config", configPath, "port-forward", "p", ":80", "0:7"], {
      signal: stop.signal,
      onStdout: (out) => {
        const ports = [...out.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/g)];
        if (ports.length === 2) ready(Number(ports[0]![1]));
      },
    });
    try {
      const port = await portPrinted;
      expect((await fetchLocal(port, "/kctl")).toString()).toBe("hello from the pod: /kctl");
      expect((await fetchLocal(port, "/big")).length).toBe(16 * 1024 * 1024);
    } finally {
      stop.abort();
    }
    expect(await run).toMatchObject({ code: 0, stderr: "" });
  });

  it("refuses an unknown subprotocol with a Status before upgrading", async () => {
    const url = `${server.url.replace("https", "wss")}/api/v1/namespaces/default/pods/p/portforward?ports=7`;
    const ws = new WebSocket(url, ["v9.unknown.k8s.io"], {
      headers: { authorization: `Bearer ${token}` },
      rejectUnauthorized: false,
    });
    const res = await new Promise<{ status: number; body: string }>((resolve) => {
      ws.on("unexpected-response", (_req, r) => {
        let body = "";
        r.on("data", (d: Buffer) => (body += d.toString()));
        r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
      });
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({
      kind: "Status",
      reason: "BadRequest",
      message: expect.stringContaining("unsupported WebSocket subprotocol"),
    });
  });
});
