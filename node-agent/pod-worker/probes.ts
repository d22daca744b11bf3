/**
 * One probe attempt, as the kubelet makes it: httpGet and tcpSocket from the host to the pod's IP
 * (a named port resolves through the container's ports), exec inside the container. Any 2xx/3xx
 * answer within the timeout passes an httpGet probe. One runner serves every probe kind (startup,
 * liveness, readiness: hook-probes.ts) and the lifecycle handlers (lifecycle-hooks.ts).
 */
import { request } from "node:http";
import { connect } from "node:net";
import type { Container, HTTPGetAction, IntOrString, Probe, TCPSocketAction } from "../../proto/gen/api.js";

export interface ProbeTarget {
  podIP: string;
  container: Container;
  /** Runs a command in the container; resolves with its exit code. */
  exec(command: string[], timeoutMs: number): Promise<number>;
}

export type ProbeResult = { ok: true } | { ok: false; message: string };

export function resolvePort(port: IntOrString | undefined, container: Container): number {
  if (typeof port === "number") return port;
  if (port && /^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named?.containerPort) throw new Error(`port "${port}" is not a port of container "${container.name}"`);
  return named.containerPort;
}

function httpGet(action: HTTPGetAction, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const port = resolvePort(action.port, target.container);
    const host = action.host || target.podIP;
    const headers = Object.fromEntries((action.httpHeaders ?? []).map((h) => [h.name ?? "", h.value ?? ""]));
    const req = request(
      {
        host,
        port,
        path: action.path ?? "/",
        method: "GET",
        timeout: timeoutMs,
        headers: { "user-agent": "kctl-probe/1.0", ...headers },
      },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(
          code >= 200 && code < 400
            ? { ok: true }
            : { ok: false, message: `HTTP probe failed with statuscode: ${code}` },
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs}ms`)));
    req.on("error", (err) =>
      resolve({ ok: false, message: `Get "http://${host}:${port}${action.path ?? "/"}": ${err.message}` }),
    );
    req.end();
  });
}

function tcpSocket(action: TCPSocketAction, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const port = resolvePort(action.port, target.container);
    const host = action.host || target.podIP;
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once("connect", () => {
      socket.destroy();
      resolve({ ok: true });
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    });
    socket.once("error", (err) =>
      resolve({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` }),
    );
  });
}

export async function runProbe(probe: Probe, target: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.httpGet) return await httpGet(probe.httpGet, target, timeoutMs);
    if (probe.tcpSocket) return await tcpSocket(probe.tcpSocket, target, timeoutMs);
    if (probe.exec?.command) {
      const code = await target.exec(probe.exec.command, timeoutMs);
      return code === 0 ? { ok: true } : { ok: false, message: `command exited with ${code}` };
    }
    // The API refuses grpc probes (not in its schema), so a handler is always one of these three.
    return { ok: false, message: "probe has no handler (exec, httpGet or tcpSocket)" };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}
