/**
 * The agent's end of the Tunnel: serves the control plane's logs, exec, attach and port-forward
 * requests for pods on this node. Attach follows the container's log from now on, each line on the
 * stream it was printed on, until the container exits; attach with stdin connects to the
 * container's attach socket (kshim's, for containers created with `stdin: true`) and writes the
 * client's stdin there. Exec with `tty` runs `kshim exec --tty` and writes resize frames to its
 * resize fd. Each request is a numbered stream; output goes back as stdout/stderr frames and the
 * stream closes with an `end` frame (exit code, or an error as `Reason: message`). The tunnel is
 * reopened with backoff whenever it breaks.
 *
 * Port-forward runs the native `netns-connect` helper, which enters the pod's network namespace
 * and connects to localhost:PORT there, as containerd does for the kubelet. Its output is sent
 * under a credit window (the control plane acks what the client took; reading pauses while
 * `portForwardWindow` bytes are unacknowledged), and what the client sends is acked once the
 * helper's stdin took it.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { PassThrough, type Writable } from "node:stream";
import type { ClientDuplexStream } from "@grpc/grpc-js";
import { ApiError } from "../../foundation/api/errors.js";
import { tracer } from "../../foundation/util/trace.js";
import type {
  AttachRequest,
  ExecRequest,
  LogsRequest,
  PortForwardRequest,
  TunnelFrame,
} from "../../proto/gen/node.js";
import { logExists, streamLog } from "../pod-worker/container-logs.js";
import type { PodManager } from "../pod-worker/pod-manager.js";
import type { RuntimeClient } from "../runtime/oci/runtime-client.js";
import { nativeBuildPath } from "../util/native-build.js";
import type { NodeClient } from "./node-client.js";
import { reconnectMaxMs } from "./node-link.js";

const trace = tracer("tunnel");
const netnsConnect = nativeBuildPath("netns-connect");
/** Pod output of one port-forward connection sent and not yet acknowledged, at most (then reading pauses). */
const portForwardWindow = 1 << 20;

interface Active {
  abort: AbortController;
  child?: ChildProcessWithoutNullStreams;
  /** Where stdin frames go: the child's stdin, or an attached container's stdin. */
  input?: Writable;
  /** The control plane acknowledged this many bytes of the child's output. */
  acked?(bytes: number): void;
  /** Stdin writes are acknowledged to the control plane (port-forward's credit window). */
  ackStdin?: boolean;
}

export class TunnelClient {
  private stream: ClientDuplexStream<TunnelFrame, TunnelFrame> | undefined;
  private readonly active = new Map<number, Active>();
  private stopped = false;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: NodeClient,
    private readonly pods: () => PodManager | undefined,
    private readonly runtime: RuntimeClient,
  ) {}

  start(): void {
    if (this.stopped) return;
    const stream = this.client.tunnel();
    this.stream = stream;
    stream.on("data", (frame: TunnelFrame) => {
      this.failures = 0;
      void this.handle(frame);
    });
    const broken = () => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      for (const a of this.active.values()) a.abort.abort();
      this.active.clear();
      if (this.stopped) return;
      const delay = Math.min(500 * 2 ** this.failures++, reconnectMaxMs);
      this.retry = setTimeout(() => this.start(), delay);
    };
    stream.on("error", (err: Error) => {
      trace("tunnel error", err.message);
      broken();
    });
    stream.on("end", broken);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    for (const a of this.active.values()) a.abort.abort();
    this.stream?.cancel();
  }

  private send(frame: TunnelFrame): void {
    this.stream?.write(frame);
  }

  private end(streamId: number, exitCode: number, err?: unknown): void {
    this.active.delete(streamId);
    const apiErr =
      err instanceof ApiError
        ? err
        : err
          ? new ApiError("InternalError", (err as Error).message ?? String(err))
          : undefined;
    this.send({
      streamId,
      end: { exitCode, error: apiErr?.message ?? "", reason: apiErr?.reason ?? "" },
    } as TunnelFrame);
  }

  private async handle(frame: TunnelFrame): Promise<void> {
    const id = frame.streamId;
    if (frame.frame === "logs" && frame.logs) return this.logs(id, frame.logs);
    if (frame.frame === "exec" && frame.exec) return this.exec(id, frame.exec);
    if (frame.frame === "portForward" && frame.portForward) return this.portForward(id, frame.portForward);
    if (frame.frame === "attach" && frame.attach) return this.attach(id, frame.attach);
    const active = this.active.get(id);
    if (!active) return;
    if (frame.frame === "stdin" && frame.stdin) {
      const data = frame.stdin;
      const ack = () => this.send({ streamId: id, ack: data.length } as TunnelFrame);
      active.input?.write(data, active.ackStdin ? ack : undefined);
    } else if (frame.frame === "ack" && frame.ack) active.acked?.(frame.ack);
    else if (frame.frame === "stdinClosed") active.input?.end();
    else if (frame.frame === "resize" && frame.resize) {
      const { width, height } = frame.resize;
      (active.child?.stdio[3] as Writable | null | undefined)?.write(`${height} ${width}\n`);
    } else if (frame.frame === "end") {
      active.abort.abort();
      active.child?.kill("SIGKILL");
      active.input?.destroy();
      this.active.delete(id);
    }
  }

  private container(namespace: string, pod: string, container: string) {
    const found = this.pods()?.find(namespace, pod);
    if (!found) throw new ApiError("NotFound", `pod "${pod}" is not running on this node`);
    const rec = found.worker.container(container || undefined);
    if (!rec) throw new ApiError("BadRequest", `container "${container}" is not valid for pod "${pod}"`);
    return rec;
  }

  private async logs(id: number, req: LogsRequest): Promise<void> {
    const abort = new AbortController();
    this.active.set(id, { abort });
    try {
      const rec = this.container(req.namespace, req.pod, req.container);
      const path = req.previous ? rec.previousLogPath : rec.logPath;
      if (!(await logExists(path))) {
        throw new ApiError(
          "BadRequest",
          req.previous
            ? `previous terminated container "${rec.name}" in pod "${req.pod}" not found`
            : `container "${rec.name}" in pod "${req.pod}" has not started yet`,
        );
      }
      await streamLog(
        path!,
        (text) => this.send({ streamId: id, stdout: Buffer.from(text) } as TunnelFrame),
        {
          follow: req.follow,
          timestamps: req.timestamps,
          ...(req.tailLines >= 0 ? { tailLines: req.tailLines } : {}),
          signal: abort.signal,
          finished: async () => !rec.running || rec.logPath !== path,
        },
      );
      this.end(id, 0);
    } catch (err) {
      this.end(id, 1, err);
    }
  }

  private async attach(id: number, req: AttachRequest): Promise<void> {
    const abort = new AbortController();
    const active: Active = { abort };
    this.active.set(id, active);
    try {
      const rec = this.container(req.namespace, req.pod, req.container);
      const path = rec.logPath;
      if (!rec.running || !rec.id)
        throw new ApiError("BadRequest", `container "${rec.name}" in pod "${req.pod}" is not running`);
      // Stdin frames may follow the request at once: they wait here until the log is followed, so
      // what the container answers to them is never before the point the follow starts from.
      const input = req.stdin ? new PassThrough() : undefined;
      if (input) active.input = input;
      const connectStdin = () => {
        if (!input || !rec.id) return;
        const socket = this.runtime.attachStdin(rec.id);
        // a container without an attachable stdin, or one that closed it (stdinOnce): input is dropped
        socket.on("error", (err) => trace("attach stdin", rec.id, err.message));
        input.pipe(socket);
        abort.signal.addEventListener("abort", () => socket.destroy());
      };
      if (!(await logExists(path)))
        throw new ApiError("BadRequest", `container "${rec.name}" in pod "${req.pod}" is not running`);
      await streamLog(
        path!,
        (text, stream) => this.send({ streamId: id, [stream]: Buffer.from(text) } as unknown as TunnelFrame),
        {
          follow: true,
          tailLines: 0,
          signal: abort.signal,
          finished: async () => !rec.running || rec.logPath !== path,
          started: connectStdin,
        },
      );
      abort.abort();
      this.end(id, 0);
    } catch (err) {
      abort.abort();
      this.end(id, 1, err);
    }
  }

  private exec(id: number, req: ExecRequest): void {
    const abort = new AbortController();
    try {
      const rec = this.container(req.namespace, req.pod, req.container);
      if (!rec.running || !rec.id) throw new ApiError("BadRequest", `container "${rec.name}" is not running`);
      if (req.command.length === 0) throw new ApiError("BadRequest", "exec needs a command");
      const child = this.runtime.spawnExec(rec.id, req.command, req.tty);
      this.active.set(id, { abort, child, input: child.stdin });
      child.stdout.on("data", (d: Buffer) => this.send({ streamId: id, stdout: d } as TunnelFrame));
      child.stderr.on("data", (d: Buffer) => this.send({ streamId: id, stderr: d } as TunnelFrame));
      if (!req.stdin) child.stdin.end();
      child.on("close", (code, signal) => this.end(id, code ?? (signal ? 137 : 1)));
      child.on("error", (err) => this.end(id, 1, err));
    } catch (err) {
      this.end(id, 1, err);
    }
  }

  private portForward(id: number, req: PortForwardRequest): void {
    const abort = new AbortController();
    try {
      const found = this.pods()?.find(req.namespace, req.pod);
      if (!found) throw new ApiError("NotFound", `pod "${req.pod}" is not running on this node`);
      const netns = found.worker.netnsPath;
      if (!netns) throw new ApiError("BadRequest", `pod "${req.pod}" has no network namespace yet`);
      const child = spawn(netnsConnect, [netns, String(req.port)], { stdio: ["pipe", "pipe", "pipe"] });
      child.stdin.on("error", () => undefined);
      let unacked = 0;
      const active: Active = {
        abort,
        child,
        input: child.stdin,
        ackStdin: true,
        acked: (bytes) => {
          unacked -= bytes;
          if (unacked <= portForwardWindow && child.stdout.isPaused()) child.stdout.resume();
        },
      };
      this.active.set(id, active);
      child.stdout.on("data", (d: Buffer) => {
        this.send({ streamId: id, stdout: d } as TunnelFrame);
        unacked += d.length;
        if (unacked > portForwardWindow) child.stdout.pause();
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (code) => {
        if (!this.active.has(id)) return;
        const message = stderr.trim().replace(/^netns-connect: /, "");
        if (code === 0 || code === null) this.end(id, 0);
        else
          this.end(id, code, new ApiError("InternalError", message || `netns-connect exited with ${code}`));
      });
      child.on("error", (err) => this.end(id, 1, err));
    } catch (err) {
      this.end(id, 1, err);
    }
  }
}
