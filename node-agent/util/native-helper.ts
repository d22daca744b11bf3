/**
 * A long-lived native helper of the agent (native/tools): a process that does what Node cannot do
 * itself (setns, netlink, mount) or cannot do cheaply (start a process without forking the whole
 * agent), so that a pod start or stop costs no fork of the agent. Each request is one line of
 * tab-separated fields on the helper's stdin, the first an id this client gives it; each answer
 * one line on its stdout, the same id, then `ok` (a tab and a value after it, for requests that
 * return one) or `err<TAB>message` (native/tools/line-protocol.h). Answers may come in any order:
 * a helper that serves requests concurrently answers each when it is done.
 *
 * The helper is started by the first request and holds the event loop only while a request is
 * pending. If it dies, its pending requests fail with what it said on stderr, and the next request
 * starts a new one.
 */
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

interface Pending {
  what: string;
  resolve(value: string): void;
  reject(err: Error): void;
}

export interface NativeHelperOptions {
  /** Starts the helper with stdin, stdout and stderr piped. */
  start(): ChildProcess;
  /** The error a failed request rejects with: `what` is the request, `message` why it failed. */
  failure(what: string, message: string): Error;
}

export class NativeHelper {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private stderr = "";

  constructor(private readonly opts: NativeHelperOptions) {}

  /** The helper's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Sends one request and resolves with its answer's value ("" for none). Fields may not hold a tab
   * or a line break: they would split the request. `what` names the request in its errors.
   */
  request(fields: readonly string[], what = fields.join(" ")): Promise<string> {
    if (fields.some((f) => /[\t\n\r]/.test(f))) {
      return Promise.reject(this.opts.failure(what, "a field holds a tab or a line break"));
    }
    const child = this.child ?? this.start();
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) hold(child, true);
      this.pending.set(id, { what, resolve, reject });
      child.stdin!.write(`${id}\t${fields.join("\t")}\n`);
    });
  }

  private start(): ChildProcess {
    const child = this.opts.start();
    this.child = child;
    this.stderr = "";
    hold(child, false);
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => {
      this.stderr = (this.stderr + d).slice(-2_000);
    });
    // A helper that is gone makes its writes fail; its exit tells why.
    child.stdin!.on("error", () => undefined);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const [id = "", status, ...rest] = line.split("\t");
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      if (this.pending.size === 0) hold(child, false);
      if (status === "ok") p.resolve(rest.join("\t"));
      else p.reject(this.opts.failure(p.what, rest.join("\t") || line));
    });
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      const detail = this.stderr.trim() || why;
      const failed = [...this.pending.values()];
      this.pending.clear();
      for (const p of failed) p.reject(this.opts.failure(p.what, `helper ended: ${detail}`));
    };
    child.once("error", (err) => gone(`cannot run it: ${err.message}`));
    child.once("exit", (code, signal) => gone(signal ? `killed by ${signal}` : `exit code ${code}`));
    return child;
  }
}

/** Keeps the event loop alive for the helper's answers while requests are pending, not while idle. */
function hold(child: ChildProcess, on: boolean): void {
  for (const handle of [child, child.stdout, child.stderr]) {
    const h = handle as { ref?(): void; unref?(): void } | null;
    if (on) h?.ref?.();
    else h?.unref?.();
  }
}
