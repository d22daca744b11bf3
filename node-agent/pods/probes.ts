/**
 * Container probes (startup, readiness, liveness) as the kubelet runs them: one worker per probe of a
 * running container, a first run after `initialDelaySeconds`, then one every `periodSeconds`, each
 * limited to `timeoutSeconds`; the result becomes success after `successThreshold` successes in a
 * row and failure after `failureThreshold` failures in a row. It starts out unknown, which readiness
 * and startup count as not yet, and liveness as alive.
 * Timing goes through the injected clock; the check itself through an injected function, so the
 * logic is tested without containers.
 */
import type { Clock, Timer } from "../../controlplane/util/clock.js";
import type { Container, HTTPGetAction, Probe } from "../../proto/gen/api.js";
import type { OciRuntimeDriver } from "../runtime/shim/index.js";
import type { ProbeDialer, ProbeOutcome } from "./probe-dialer.js";

export type ProbeKind = "startup" | "readiness" | "liveness";

export interface ProbeSettings {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** The probe's timing with Kubernetes' defaults (period 10 s, timeout 1 s, thresholds 1 and 3). */
export function probeSettings(p: Probe): ProbeSettings {
  return {
    initialDelayMs: (p.initialDelaySeconds ?? 0) * 1000,
    periodMs: (p.periodSeconds ?? 10) * 1000,
    timeoutMs: (p.timeoutSeconds ?? 1) * 1000,
    successThreshold: p.successThreshold ?? 1,
    failureThreshold: p.failureThreshold ?? 3,
  };
}

export type ProbeCheck = () => Promise<ProbeOutcome>;

export interface ProbeWorkerOptions {
  kind: ProbeKind;
  settings: ProbeSettings;
  check: ProbeCheck;
  clock: Clock;
  /** Called when the result changes; `message` is the last failure's. */
  onChange(result: ProbeResult, message: string): void;
  /** Called after every run (for metrics and Unhealthy events). */
  onRun?(ok: boolean, message: string): void;
}

export type ProbeResult = "unknown" | "success" | "failure";

export class ProbeWorker {
  result: ProbeResult = "unknown";
  private successes = 0;
  private failures = 0;
  private timer: Timer | undefined;
  private stopped = false;

  constructor(private readonly o: ProbeWorkerOptions) {}

  start(): void {
    this.timer = this.o.clock.setTimer(this.o.settings.initialDelayMs, () => void this.run());
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    let outcome: ProbeOutcome;
    try {
      outcome = await withTimeout(this.o.check(), this.o.settings.timeoutMs, this.o.clock);
    } catch (err) {
      outcome = { ok: false, message: (err as Error).message };
    }
    if (this.stopped) return;
    this.o.onRun?.(outcome.ok, outcome.message);
    if (this.stopped) return;
    if (outcome.ok) {
      this.failures = 0;
      this.successes++;
      if (this.result !== "success" && this.successes >= this.o.settings.successThreshold)
        this.set("success", "");
    } else {
      this.successes = 0;
      this.failures++;
      if (this.result !== "failure" && this.failures >= this.o.settings.failureThreshold) {
        this.set("failure", outcome.message);
      }
    }
    if (!this.stopped) this.timer = this.o.clock.setTimer(this.o.settings.periodMs, () => void this.run());
  }

  private set(result: ProbeResult, message: string): void {
    this.result = result;
    this.o.onChange(result, message);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, clock: Clock): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = clock.setTimer(ms, () =>
      reject(new Error(`timeout: probe did not answer within ${ms / 1000}s`)),
    );
    p.then(
      (v) => {
        t.cancel();
        resolve(v);
      },
      (e) => {
        t.cancel();
        reject(e);
      },
    );
  });
}

export interface ProbeTarget {
  driver: OciRuntimeDriver;
  containerId: string;
  container: Container;
  podIP: string;
  dialer: ProbeDialer;
}

/**
 * The check for a probe or lifecycle handler: exec inside the container through the runtime,
 * httpGet or tcpSocket from the node to the pod IP. Throws naming the field when the handler has
 * no action or names a port the container does not declare.
 */
export function probeCheck(
  handler: Pick<Probe, "exec" | "httpGet" | "tcpSocket">,
  target: ProbeTarget,
  timeoutMs: number,
  where: string,
): ProbeCheck {
  if (handler.exec !== undefined) {
    const command = handler.exec.command ?? [];
    return async () => {
      const r = await target.driver.exec(target.containerId, command, timeoutMs);
      const output = (r.stdout + r.stderr).trim();
      return {
        ok: r.exitCode === 0,
        message: r.exitCode === 0 ? "" : `exec ${JSON.stringify(command)} exited ${r.exitCode}: ${output}`,
      };
    };
  }
  if (handler.httpGet !== undefined) {
    const req = httpRequest(handler.httpGet, target, `${where}.httpGet`);
    return () => target.dialer.httpGet(req, timeoutMs);
  }
  if (handler.tcpSocket !== undefined) {
    const port = resolvePort(handler.tcpSocket.port, target.container, `${where}.tcpSocket.port`);
    const host = handler.tcpSocket.host || target.podIP;
    return () => target.dialer.tcpConnect(host, port, timeoutMs);
  }
  throw new Error(`${where}: one of exec, httpGet or tcpSocket is required`);
}

function httpRequest(h: HTTPGetAction, target: ProbeTarget, where: string) {
  const headers: Record<string, string> = {};
  for (const x of h.httpHeaders ?? []) if (x.name) headers[x.name] = x.value ?? "";
  const path = h.path ?? "/";
  return {
    scheme: h.scheme === "HTTPS" ? ("HTTPS" as const) : ("HTTP" as const),
    host: h.host || target.podIP,
    port: resolvePort(h.port, target.container, `${where}.port`),
    path: path.startsWith("/") ? path : `/${path}`,
    headers,
  };
}

/** A probe's port: a number, or the name of one of the container's ports. */
export function resolvePort(port: number | string | undefined, c: Container, where: string): number {
  if (typeof port === "number") return port;
  if (port !== undefined && /^\d+$/.test(port)) return Number(port);
  const named = c.ports?.find((p) => p.name === port)?.containerPort;
  if (named === undefined) throw new Error(`${where}: "${port}" is not a port of container ${c.name}`);
  return named;
}
