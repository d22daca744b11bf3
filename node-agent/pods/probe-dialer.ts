/**
 * How httpGet and tcpSocket probes (and preStop httpGet) reach a pod: from the node's network
 * namespace to the pod IP, like the kubelet. The direct dialer uses the agent's own namespace; an
 * agent whose node namespace is not its own (a test host namespace) uses {@link netnsDialer}.
 */
import { spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";

export interface HttpProbeRequest {
  scheme: "HTTP" | "HTTPS";
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
}

export interface ProbeOutcome {
  ok: boolean;
  /** Why it failed (status code, connection error), for the Unhealthy event. */
  message: string;
}

export interface ProbeDialer {
  httpGet(req: HttpProbeRequest, timeoutMs: number): Promise<ProbeOutcome>;
  tcpConnect(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome>;
}

/** Probes from this process's network namespace. HTTP 200–399 is success; TLS is not verified. */
export const directDialer: ProbeDialer = {
  httpGet(req, timeoutMs) {
    return new Promise((resolve) => {
      const request = req.scheme === "HTTPS" ? httpsRequest : httpRequest;
      const url = `${req.scheme.toLowerCase()}://${req.host}:${req.port}${req.path}`;
      const r = request(
        {
          host: req.host,
          port: req.port,
          path: req.path,
          method: "GET",
          headers: { "User-Agent": "kctl-probe/1.0", ...req.headers },
          timeout: timeoutMs,
          rejectUnauthorized: false,
        },
        (res) => {
          res.resume();
          const code = res.statusCode ?? 0;
          const ok = code >= 200 && code < 400;
          resolve({ ok, message: ok ? "" : `HTTP probe failed with statuscode: ${code}` });
        },
      );
      r.on("timeout", () => r.destroy(new Error(`timeout after ${timeoutMs}ms`)));
      r.on("error", (e) => resolve({ ok: false, message: `Get "${url}": ${e.message}` }));
      r.end();
    });
  },
  tcpConnect(host, port, timeoutMs) {
    return new Promise((resolve) => {
      const s = connect({ host, port, timeout: timeoutMs });
      s.on("connect", () => {
        s.destroy();
        resolve({ ok: true, message: "" });
      });
      s.on("timeout", () => {
        s.destroy();
        resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
      });
      s.on("error", (e) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${e.message}` }));
    });
  },
};

/**
 * Probes from the network namespace at `netnsPath`, through busybox `nc` started there with
 * `nsenter` (an HTTP/1.0 request written by hand, the status line read back). Slower than
 * {@link directDialer} (a process per probe); for agents whose node namespace is not their own.
 */
export function netnsDialer(netnsPath: string): ProbeDialer {
  const nc = (host: string, port: number, timeoutMs: number, input: string) =>
    run(
      [
        "nsenter",
        `--net=${netnsPath}`,
        "busybox",
        "nc",
        "-w",
        String(Math.max(1, Math.ceil(timeoutMs / 1000))),
        host,
        String(port),
      ],
      input,
      timeoutMs + 1000,
    );
  return {
    async httpGet(req, timeoutMs) {
      const url = `http://${req.host}:${req.port}${req.path}`;
      if (req.scheme === "HTTPS")
        return { ok: false, message: `Get "${url}": HTTPS is not probed from another namespace` };
      const headers = Object.entries({
        Host: `${req.host}:${req.port}`,
        "User-Agent": "kctl-probe/1.0",
        ...req.headers,
      })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("");
      const r = await nc(req.host, req.port, timeoutMs, `GET ${req.path} HTTP/1.0\r\n${headers}\r\n`);
      const code = Number(/^HTTP\/\d\.\d (\d{3})/.exec(r.stdout)?.[1] ?? 0);
      if (code >= 200 && code < 400) return { ok: true, message: "" };
      return {
        ok: false,
        message:
          code > 0
            ? `HTTP probe failed with statuscode: ${code}`
            : `Get "${url}": ${r.stderr.trim() || "no HTTP answer"}`,
      };
    },
    async tcpConnect(host, port, timeoutMs) {
      const r = await nc(host, port, timeoutMs, "");
      return {
        ok: r.code === 0,
        message: r.code === 0 ? "" : `dial tcp ${host}:${port}: ${r.stderr.trim()}`,
      };
    },
  };
}

function run(
  argv: string[],
  input: string,
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString("utf8");
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString("utf8");
    });
    child.on("error", (e) => resolve({ code: -1, stdout, stderr: e.message }));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}
