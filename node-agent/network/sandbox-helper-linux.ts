/**
 * The pod sandboxes' netlink helper (`native/build/sandbox-net`, see native/tools/sandbox-net.c):
 * one long-lived process per node network namespace, shared by every `PodNetwork` of the agent,
 * that makes and removes a pod's network namespace and veth pair without a process per pod. Node
 * cannot unshare, setns or speak netlink itself; forking the whole agent for `ip` twice per setup
 * and twice per teardown was the largest part of a pod start's CPU (node-agent/README.md).
 *
 * Requests are answered in order, one at a time, by the helper. It is started by the first request
 * and holds the event loop only while a request is pending. If it dies, its pending requests fail
 * with what it said on stderr, and the next request starts a new one.
 */
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { nativeBuildPath } from "../util/native-build.js";
import { spawnTool } from "./commands-linux.js";
import { NetworkError } from "./errors.js";

interface Pending {
  what: string;
  resolve(value: string): void;
  reject(err: Error): void;
}

export class SandboxHelper {
  private child: ChildProcess | undefined;
  private readonly pending: Pending[] = [];
  private stderr = "";

  /** `hostNetns`: the node's namespace as an nsfs file; undefined: the agent's own. */
  constructor(private readonly hostNetns: string | undefined) {}

  /**
   * Sends one request (see sandbox-net.c) and resolves with its answer's value ("" for none).
   * Fields may not hold a tab or a line break: they would split the request.
   */
  request(fields: readonly string[]): Promise<string> {
    const bad = fields.find((f) => /[\t\n\r]/.test(f));
    if (bad !== undefined) {
      return Promise.reject(
        new NetworkError("Invalid", `sandbox-net: ${JSON.stringify(bad)} holds a tab or line break`),
      );
    }
    const child = this.child ?? this.start();
    const what = fields.join(" ");
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) this.hold(child, true);
      this.pending.push({ what, resolve, reject });
      child.stdin!.write(`${fields.join("\t")}\n`);
    });
  }

  private start(): ChildProcess {
    const child = spawnTool(
      [nativeBuildPath("sandbox-net"), ...(this.hostNetns ? [this.hostNetns] : [])],
      "pipe",
    );
    this.child = child;
    this.stderr = "";
    this.hold(child, false);
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => {
      this.stderr = (this.stderr + d).slice(-2_000);
    });
    // A helper that is gone makes its writes fail; its exit tells why.
    child.stdin!.on("error", () => undefined);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const p = this.pending.shift();
      if (this.pending.length === 0) this.hold(child, false);
      if (!p) return;
      const [status, ...rest] = line.split("\t");
      if (status === "ok") p.resolve(rest.join("\t"));
      else p.reject(new NetworkError("CommandFailed", `${p.what}: ${rest.join("\t") || line}`));
    });
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      const detail = this.stderr.trim() || why;
      for (const p of this.pending.splice(0)) {
        p.reject(new NetworkError("CommandFailed", `${p.what}: sandbox-net ended: ${detail}`));
      }
    };
    child.once("error", (err) => gone(`cannot run ${nativeBuildPath("sandbox-net")}: ${err.message}`));
    child.once("exit", (code, signal) => gone(signal ? `killed by ${signal}` : `exit code ${code}`));
    return child;
  }

  /** Keeps the event loop alive for the helper's answers while requests are pending, not while idle. */
  private hold(child: ChildProcess, on: boolean): void {
    for (const handle of [child, child.stdout, child.stderr] as const) {
      const h = handle as { ref?(): void; unref?(): void } | null;
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }
}

const helpers = new Map<string, SandboxHelper>();

/** The helper for the node namespace `hostNetns` (undefined: the agent's own), started on first use. */
export function sandboxHelper(hostNetns: string | undefined): SandboxHelper {
  const key = hostNetns ?? "";
  let helper = helpers.get(key);
  if (!helper) {
    helper = new SandboxHelper(hostNetns);
    helpers.set(key, helper);
  }
  return helper;
}
