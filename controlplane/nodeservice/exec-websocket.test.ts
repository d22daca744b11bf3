/**
 * pods/exec over WebSocket, driven by stock kubectl (exec, exec -i, cp both ways) against a real
 * apiserver and etcd. The node's end of the tunnel is a stand-in that runs each command as a local
 * process, so what is under test is this module's protocol between kubectl and the tunnel; the
 * lab's e2e suite runs it against real containers.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
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
import type { TerminalSize, TunnelFrame } from "../../proto/gen/node.js";
import { type ApiServer, bootstrapGroup, startApiServer } from "../apiserver/index.js";
import { Registry } from "../registry/index.js";
import { Store } from "../store/index.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { execWebSocketHandler, exitStatus, pickSubprotocol, terminalSize } from "./exec-websocket.js";
import { TunnelRegistry } from "./tunnels.js";

const token = "exec-ws-test-token-0123456789";

/** What the stand-in node was asked for TTYs: the exec requests' tty flags and the resizes sent. */
const terminalSeen = { tty: [] as boolean[], resizes: [] as TerminalSize[] };

/** The node's end of the tunnel, running each exec as a local process. */
function standInNode(tunnels: TunnelRegistry, node: string): Map<number, ChildProcessWithoutNullStreams> {
  const running = new Map<number, ChildProcessWithoutNullStreams>();
  const attachedStdin = new Map<number, string>();
  const reply = (frame: Partial<TunnelFrame> & { streamId: number }, kind: TunnelFrame["frame"]) =>
    tunnels.receive(node, { ...frame, frame: kind } as TunnelFrame);
  tunnels.attach(node, {
    send(frame) {
      const id = frame.streamId;
      if (frame.exec) {
        terminalSeen.tty.push(frame.exec.tty);
        const [cmd, ...args] = frame.exec.command;
        const child = spawn(cmd!, args);
        running.set(id, child);
        child.stdout.on("data", (d: Buffer) => reply({ streamId: id, stdout: d }, "stdout"));
        child.stderr.on("data", (d: Buffer) => reply({ streamId: id, stderr: d }, "stderr"));
        if (!frame.exec.stdin) child.stdin.end();
        child.on("close", (code) => {
          running.delete(id);
          reply({ streamId: id, end: { exitCode: code ?? 137, error: "", reason: "" } }, "end");
        });
      } else if (frame.attach?.stdin) {
        // Stands in for a container echoing its attached stdin, ending when the client closes it.
        attachedStdin.set(id, "");
      } else if (frame.attach) {
        // Stands in for a container that prints on both streams after the client attached, then exits.
        setTimeout(() => {
          reply({ streamId: id, stdout: Buffer.from("attached out\n") }, "stdout");
          reply({ streamId: id, stderr: Buffer.from("attached err\n") }, "stderr");
          reply({ streamId: id, end: { exitCode: 0, error: "", reason: "" } }, "end");
        }, 100);
      } else if (frame.stdin && attachedStdin.has(id)) {
        attachedStdin.set(id, attachedStdin.get(id) + frame.stdin.toString());
      } else if (frame.stdin) running.get(id)?.stdin.write(frame.stdin);
      else if (frame.stdinClosed && attachedStdin.has(id)) {
        reply({ streamId: id, stdout: Buffer.from(`stdin was: ${attachedStdin.get(id)}`) }, "stdout");
        reply({ streamId: id, end: { exitCode: 0, error: "", reason: "" } }, "end");
      } else if (frame.stdinClosed) running.get(id)?.stdin.end();
      else if (frame.end) running.get(id)?.kill("SIGKILL");
      else if (frame.resize) terminalSeen.resizes.push(frame.resize);
    },
  });
  return running;
}

describe("exec protocol pieces", () => {
  it("speaks v5 or v4 and writes upstream's final Status", () => {
    expect(pickSubprotocol("v5.channel.k8s.io, v4.channel.k8s.io")).toBe("v5.channel.k8s.io");
    expect(pickSubprotocol("v4.channel.k8s.io")).toBe("v4.channel.k8s.io");
    expect(pickSubprotocol("base64.channel.k8s.io")).toBeUndefined();
    expect(exitStatus(0)).toEqual({ metadata: {}, status: "Success" });
    expect(exitStatus(3)).toMatchObject({
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "3" }] },
    });
  });

  it("reads kubectl's resize message and drops anything else", () => {
    expect(terminalSize(Buffer.from('{"Width":100,"Height":40}'))).toEqual({ width: 100, height: 40 });
    for (const bad of [
      "",
      "{",
      "null",
      '{"Width":100}',
      '{"Width":-1,"Height":2}',
      '{"Width":1.5,"Height":2}',
    ])
      expect(terminalSize(Buffer.from(bad)), bad).toBeUndefined();
    expect(terminalSize(Buffer.from('{"Width":65536,"Height":2}'))).toBeUndefined();
  });
});

describe.skipIf(!existsSync("/usr/bin/kubectl"))("kubectl exec and cp over WebSocket", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  let store: Store;
  let server: ApiServer;
  let dir: string;
  let running: Map<number, ChildProcessWithoutNullStreams>;
  let caPem: string;

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    const metrics = new MetricsRegistry();
    store = new Store({ client, metrics });
    const registry = new Registry({ store });
    await registry.ensureSystemNamespaces();
    await registry.create(resourceForKind("v1", "Pod")!, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "default" },
      spec: { nodeName: "n1", containers: [{ name: "c", image: "busybox" }] },
    });
    await registry.create(resourceForKind("v1", "Pod")!, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "interactive", namespace: "default" },
      spec: { nodeName: "n1", containers: [{ name: "c", image: "busybox", stdin: true }] },
    });
    const tunnels = new TunnelRegistry();
    running = standInNode(tunnels, "n1");
    dir = await mkdtemp(join(tmpdir(), "kctl-exec-ws-"));
    const ca = await ensureCa(dir);
    caPem = ca.certPem;
    const cert = await ensureServingCert(dir, ca, { hosts: ["127.0.0.1"], commonName: "apiserver" });
    server = await startApiServer({
      registry,
      port: 0,
      metrics,
      tls: { cert: cert.certPem, key: cert.keyPem },
      authenticate: (t) =>
        t === token
          ? { name: "admin" }
          : t === "bootstrap-token"
            ? { name: "system:bootstrap:abc", groups: [bootstrapGroup] }
            : undefined,
      upgradeHandlers: {
        exec: execWebSocketHandler(registry, tunnels),
        attach: execWebSocketHandler(registry, tunnels, "attach"),
      },
    });
  });

  afterAll(async () => {
    for (const child of running?.values() ?? []) child.kill("SIGKILL");
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    store?.close();
    client?.close();
    await etcd?.stop();
  });

  function kubectl(
    args: string[],
    input?: string,
  ): Promise<{ stdout: string; stderr: string; code: number }> {
    return new Promise((resolve) => {
      const child = execFile(
        "/usr/bin/kubectl",
        [`--server=${server.url}`, `--token=${token}`, "--insecure-skip-tls-verify", ...args],
        { env: { ...process.env, KUBECONFIG: "/dev/null", HOME: dir } },
        (err, stdout, stderr) =>
          resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
      );
      if (input !== undefined) child.stdin!.end(input);
      else child.stdin!.end();
    });
  }

  it("runs a command: stdout, stderr and the exit code", async () => {
    const out = await kubectl(["exec", "p", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(out.stdout).toBe("out\n");
    expect(out.stderr).toContain("err\n");
    expect(out.stderr).toContain("command terminated with exit code 3");
    expect(out.code).toBe(3);
    expect((await kubectl(["exec", "p", "--", "true"])).code).toBe(0);
  });

  it("passes stdin with -i and closes it at its end", async () => {
    const out = await kubectl(
      ["exec", "-i", "p", "--", "sh", "-c", "tr a-z A-Z; echo done"],
      "hello\nworld\n",
    );
    expect(out.stdout).toBe("HELLO\nWORLD\ndone\n");
    expect(out.code).toBe(0);
  });

  it("kctl exec speaks the same protocol: output, stdin, exit code, and a missing pod's Status", async () => {
    const configPath = join(dir, "kctl-config");
    await writeConfig(configPath, { server: server.url, caPem, token });
    const kctl = (args: string[], stdin?: string) =>
      runKctl(["--config", configPath, "exec", ...args], stdin === undefined ? {} : { stdin });
    const out = await kctl(["p", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(out).toMatchObject({ code: 3, stdout: "out\n", stderr: "err\n" });
    expect(await kctl(["-i", "p", "--", "tr", "a-z", "A-Z"], "hello\n")).toMatchObject({
      code: 0,
      stdout: "HELLO\n",
    });
    const missing = await kctl(["nosuch", "--", "true"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('"nosuch" not found');
  });

  it("exec -t asks the node for a TTY and forwards kubectl's terminal size", async () => {
    terminalSeen.tty.length = 0;
    terminalSeen.resizes.length = 0;
    // kubectl allocates a TTY only when its own stdin is a terminal: `script` gives it one, 40x100.
    const cmd = [
      "stty rows 40 cols 100;",
      "/usr/bin/kubectl",
      `--server=${server.url}`,
      `--token=${token}`,
      "--insecure-skip-tls-verify",
      "exec -it p -- sh -c 'read line; echo got=$line'",
    ].join(" ");
    const out = await new Promise<string>((resolve) => {
      const child = spawn("script", ["-qec", cmd, "/dev/null"], {
        env: { ...process.env, KUBECONFIG: "/dev/null", HOME: dir },
      });
      let text = "";
      child.stdout.on("data", (d: Buffer) => (text += d.toString()));
      // kubectl's terminal is raw, so the line ends as typed: the stand-in runs sh without a terminal
      setTimeout(() => child.stdin.write("typed\n"), 1500);
      const stop = setTimeout(() => child.kill("SIGKILL"), 30_000);
      child.on("close", () => {
        clearTimeout(stop);
        resolve(text);
      });
    });
    expect(out).toContain("got=typed");
    expect(terminalSeen.tty).toEqual([true]);
    expect(terminalSeen.resizes).toContainEqual({ width: 100, height: 40 });
  });

  it("kubectl attach follows the container's output on its streams; attach -i is refused, naming why", async () => {
    const out = await kubectl(["attach", "p"]);
    expect(out.stdout).toBe("attached out\n");
    expect(out.stderr).toContain("attached err\n");
    expect(out.code).toBe(0);
    const withStdin = await kubectl(["attach", "-i", "p"], "");
    expect(withStdin.code).not.toBe(0);
    expect(withStdin.stderr).toContain(
      'container "c" in pod "p" was created without stdin: true, so its stdin is /dev/null and cannot be attached',
    );
  });

  it("kubectl attach -i sends stdin to a container created with stdin: true", async () => {
    const out = await kubectl(["attach", "-i", "interactive"], "typed\n");
    expect(out.stdout).toBe("stdin was: typed\n");
    expect(out.code).toBe(0);
  });

  it("copies a file into the pod and back (kubectl cp is tar over exec)", async () => {
    const podDir = join(dir, "pod-side");
    await mkdir(podDir);
    const local = join(dir, "local.txt");
    await writeFile(local, "some content\n".repeat(1000));
    const up = await kubectl(["cp", local, `default/p:${podDir}/copied.txt`]);
    expect(up.stderr).toBe("");
    expect(await readFile(join(podDir, "copied.txt"), "utf8")).toBe("some content\n".repeat(1000));
    const back = join(dir, "back.txt");
    const down = await kubectl(["cp", `default/p:${podDir}/copied.txt`, back]);
    expect(down.code).toBe(0);
    expect(await readFile(back, "utf8")).toBe("some content\n".repeat(1000));
  });

  it("refuses an unknown subprotocol, a bad token and a bootstrap token with a Status, running nothing", async () => {
    const url = `${server.url.replace("https", "wss")}/api/v1/namespaces/default/pods/p/exec?command=true`;
    const attempt = (protocol: string, auth: string) =>
      new Promise<{ status: number; body: string }>((resolve) => {
        const ws = new WebSocket(url, [protocol], {
          headers: { Authorization: `Bearer ${auth}` },
          rejectUnauthorized: false,
        });
        ws.on("unexpected-response", (_req, res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        ws.on("open", () => resolve({ status: 101, body: "" }));
        ws.on("error", () => {});
      });
    const bogus = await attempt("v9.bogus.k8s.io", token);
    expect(bogus.status).toBe(400);
    expect(JSON.parse(bogus.body)).toMatchObject({
      kind: "Status",
      reason: "BadRequest",
      message: expect.stringContaining("subprotocol"),
    });
    expect((await attempt("v5.channel.k8s.io", "wrong")).status).toBe(401);
    // A node's bootstrap token may join nodes and nothing else: no exec into pods.
    expect((await attempt("v5.channel.k8s.io", "bootstrap-token")).status).toBe(403);
    expect(running.size).toBe(0);
  });
});
