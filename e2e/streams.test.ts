/**
 * Streams into real pods with stock kubectl (/usr/bin/kubectl) on a one-host lab: port-forward to
 * a busybox httpd, to a server bound to 127.0.0.1 inside the pod (reachable only because the node
 * connects from within the pod's network namespace), a refused port reported as kubectl reports
 * it, attach following a container's output, attach -i to a container created with stdin: true
 * (and refused to one without), run -i --rm, run -it refused for its tty field, exec -it on a
 * terminal (under `script`, as kubectl allocates a TTY only when its own stdin is one), and a
 * WebSocket with an unknown subprotocol refused with a Status.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

const kubectlPath = "/usr/bin/kubectl";
if (!existsSync(kubectlPath)) console.warn(`e2e/streams: skipped, ${kubectlPath} is missing`);

const podYaml = `
apiVersion: v1
kind: Pod
metadata:
  name: streams
  namespace: default
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "echo public > /tmp/index.html; mkdir /tmp/lo; echo loopback-only > /tmp/lo/index.html; httpd -p 127.0.0.1:8081 -h /tmp/lo; exec httpd -f -p 80 -h /tmp"]
  - name: ticker
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "i=0; while true; do echo tick $i; echo tock $i >&2; i=$((i+1)); sleep 1; done"]
  - name: reader
    image: kctl.local/busybox:debian
    stdin: true
    command: ["sh", "-c", "while read l; do echo in:$l; done; echo eof"]
`;

describe.skipIf(!isRoot || !existsSync(kubectlPath))("streams with stock kubectl on a lab", () => {
  let lab: LabCluster;
  let dir: string;
  const children: ChildProcess[] = [];

  const kubectlArgs = (args: string[]) => ["--kubeconfig", lab.config, "-n", "default", ...args];
  const kubectl = (args: string[]) =>
    new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
      execFile(
        kubectlPath,
        kubectlArgs(args),
        { env: { ...process.env, HOME: dir }, timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
      );
    });

  /** Starts a long-running kubectl; `output()` is what it printed so far (stdout + stderr). */
  const startKubectl = (args: string[]) => {
    const child = spawn(kubectlPath, kubectlArgs(args), { env: { ...process.env, HOME: dir } });
    children.push(child);
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    return { child, output: () => output };
  };

  const portForward = async (ports: string) => {
    const run = startKubectl(["port-forward", "pod/streams", ports]);
    const port = await eventually(`kubectl port-forward ${ports} listening`, async () => {
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(run.output());
      return m ? Number(m[1]) : undefined;
    });
    return { ...run, port };
  };

  const get = (port: number, path = "/") =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      httpGet({ host: "127.0.0.1", port, path }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      }).on("error", reject);
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-e2e-streams-"));
    lab = await startLabCluster("st", 1);
    expect((await lab.apply(podYaml)).code).toBe(0);
    await eventually("pod streams running", async () => {
      const out = await kubectl(["get", "pod", "streams", "-o", "jsonpath={.status.phase}"]);
      return out.stdout === "Running" ? true : undefined;
    });
  }, 600_000);
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
  });
  afterAll(downLab(() => lab));
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("port-forwards 0:80 to busybox httpd in the pod", async () => {
    const pf = await portForward("0:80");
    const res = await eventually("a response through the forwarded port", async () =>
      get(pf.port).catch(() => undefined),
    );
    expect(res).toEqual({ status: 200, body: "public\n" });
    expect((await get(pf.port, "/index.html")).body).toBe("public\n");
    pf.child.kill("SIGTERM");
  });

  it("reaches a server bound to 127.0.0.1 inside the pod, which the pod IP does not serve", async () => {
    const pf = await portForward("0:8081");
    expect(await get(pf.port)).toEqual({ status: 200, body: "loopback-only\n" });
    pf.child.kill("SIGTERM");
    const ip = (await kubectl(["get", "pod", "streams", "-o", "jsonpath={.status.podIP}"])).stdout;
    const direct = await lab.httpGet(lab.state.nodes[0]!.name, `http://${ip}:8081/`);
    expect(direct.code).not.toBe(0);
  });

  it("reports a refused port as kubectl does", async () => {
    const pf = await portForward("0:9");
    await get(pf.port).catch(() => undefined);
    await eventually("kubectl's error line", async () =>
      /an error occurred forwarding \d+ -> 9: .*connection refused/i.test(pf.output()) ? true : undefined,
    );
    pf.child.kill("SIGKILL");
  });

  it("attaches to a running container's output", async () => {
    const run = startKubectl(["attach", "streams", "-c", "ticker"]);
    await eventually("ticks and tocks through attach", async () =>
      /tick \d+/.test(run.output()) && /tock \d+/.test(run.output()) ? true : undefined,
    );
    run.child.kill("SIGTERM");
  });

  /**
   * Runs kubectl on a 40x100 terminal made by `script`; `type` writes to that terminal once the
   * output holds `ready`. Resolves with everything the terminal showed and kubectl's exit code.
   */
  const onTerminal = (args: string[], ready: string, type: string) =>
    new Promise<{ output: string; code: number | null }>((resolve) => {
      const quoted = [kubectlPath, ...kubectlArgs(args)].map((a) => `'${a.replace(/'/g, "'\\''")}'`);
      const child = spawn("script", ["-qec", `stty rows 40 cols 100; ${quoted.join(" ")}`, "/dev/null"], {
        env: { ...process.env, HOME: dir },
      });
      children.push(child);
      let output = "";
      let typed = false;
      child.stdout.on("data", (d: Buffer) => {
        output += d.toString();
        if (!typed && output.includes(ready)) {
          typed = true;
          child.stdin.write(type);
        }
      });
      const stop = setTimeout(() => child.kill("SIGKILL"), 120_000);
      child.on("close", (code) => {
        clearTimeout(stop);
        resolve({ output, code });
      });
    });

  it("exec -it: typed input reaches the container's terminal, its output and size come back", async () => {
    const script = "echo ready; read line; echo got=$line; stty size; test -t 0 && echo on-a-tty; exit 4";
    const r = await onTerminal(
      ["exec", "-it", "streams", "-c", "web", "--", "sh", "-c", script],
      "ready",
      "typed\r",
    );
    expect(r.output).toContain("got=typed");
    expect(r.output).toContain("40 100");
    expect(r.output).toContain("on-a-tty");
    expect(r.code, r.output).toBe(4);
  });

  it("attach -i: typed lines reach a container created with stdin: true, which keeps it open", async () => {
    const first = startKubectl(["attach", "-i", "streams", "-c", "reader"]);
    first.child.stdin?.write("hello\n");
    await eventually("the first line echoed", async () =>
      first.output().includes("in:hello") ? true : undefined,
    );
    first.child.kill("SIGTERM");
    const second = startKubectl(["attach", "-i", "streams", "-c", "reader"]);
    second.child.stdin?.write("again\n");
    await eventually("the second line echoed", async () =>
      second.output().includes("in:again") ? true : undefined,
    );
    expect(second.output()).not.toContain("eof");
    second.child.kill("SIGTERM");
  });

  it("attach -i to a container without stdin is refused, naming why", async () => {
    const out = await kubectl(["attach", "-i", "streams", "-c", "ticker"]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('container "ticker" in pod "streams" was created without stdin: true');
  });

  it("run -i --rm: stdin reaches the new pod's container, closes at its end, and the pod is deleted", async () => {
    const run = startKubectl([
      "run",
      "once",
      "--image=kctl.local/busybox:debian",
      "--restart=Never",
      "-i",
      "--rm",
      "--",
      "sh",
      "-c",
      "while read l; do echo got=$l; done; echo stdin-closed",
    ]);
    run.child.stdin?.end("typed\n");
    const code = await new Promise<number | null>((resolve) => run.child.on("close", resolve));
    expect(run.output()).toContain("got=typed");
    expect(run.output()).toContain("stdin-closed");
    expect(run.output()).toContain('pod "once" deleted');
    expect(code, run.output()).toBe(0);
    const gone = await kubectl(["get", "pod", "once"]);
    expect(gone.stderr).toMatch(/not found/);
  });

  it("run -it --rm asks for a terminal, which is refused naming the field", async () => {
    const r = await onTerminal(
      ["run", "tty", "--image=kctl.local/busybox:debian", "--restart=Never", "-it", "--rm", "--", "sh"],
      "",
      "",
    );
    expect(r.output).toContain("spec.containers[0].tty: Forbidden: containers run without a terminal");
    expect(r.code).not.toBe(0);
  });

  it("refuses a WebSocket with an unknown subprotocol with a Status", async () => {
    const view = async (path: string) =>
      (await kubectl(["config", "view", "--raw", "--minify", "-o", `jsonpath=${path}`])).stdout;
    const server = await view("{.clusters[0].cluster.server}");
    const token = await view("{.users[0].user.token}");
    const ws = new WebSocket(
      `${server.replace(/^http/, "ws")}/api/v1/namespaces/default/pods/streams/portforward?ports=80`,
      ["v9.unknown.k8s.io"],
      { headers: { Authorization: `Bearer ${token}` }, rejectUnauthorized: false },
    );
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      ws.on("unexpected-response", (_req, r) => {
        let body = "";
        r.on("data", (d: Buffer) => (body += d.toString()));
        r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
      });
      ws.on("open", () => reject(new Error("the upgrade was accepted")));
      ws.on("error", () => undefined);
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ kind: "Status", code: 400, reason: "BadRequest" });
  });
});
