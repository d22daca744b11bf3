/**
 * Tells the route keeper when the kernel may have dropped its routes behind its back. Setting a
 * link down makes the kernel delete every IPv4 route through it without a route notification, and
 * setting it up again does not bring them back: without this, pods on the host reach no other
 * host's pods until the periodic reconcile (a minute) puts the routes back. It runs
 * `ip -o monitor link route` in the namespace and calls back on any change of a host link and on
 * the deletion of an owned route. The pod network's links are left out: pod veths come and go with
 * every pod, and the pod bridge changes with them (ports, carrier, MTU, address), while neither
 * carries an owned route; each call back costs a reconcile that runs `ip` twice. Only this
 * watcher's own `ip` process is ever signalled; if it dies it is started again, with a callback,
 * since changes may have been missed meanwhile.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { tracer } from "../../foundation/util/trace.js";
import { inNetns } from "../network/commands-linux.js";
import { HOST_VETH_PREFIX } from "../network/veth-name.js";

const trace = tracer("routes");

/**
 * Whether a line of `ip -o monitor link route` may mean owned routes are gone or can now be added;
 * `podBridge` is the pod network's bridge.
 */
export function mayNeedReconcile(line: string, proto: number, podBridge?: string): boolean {
  const link = /^(?:Deleted )?\d+: ([^:@\s]+)[@:]/.exec(line);
  if (link) return !link[1]!.startsWith(HOST_VETH_PREFIX) && link[1] !== podBridge;
  return line.startsWith("Deleted ") && new RegExp(`\\sproto ${proto}(\\s|$)`).test(line);
}

export class LinkWatch {
  private child: ChildProcess | undefined;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly netns: string | undefined,
    private readonly proto: number,
    private readonly onChange: () => void,
    private readonly podBridge?: string,
    private readonly restartDelayMs = 1_000,
  ) {}

  start(): void {
    if (this.stopped) return;
    const argv = [...inNetns(this.netns), "ip", "-o", "monitor", "link", "route"];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "ignore"] });
    this.child = child;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (mayNeedReconcile(line, this.proto, this.podBridge)) this.onChange();
    });
    child.once("error", (err) => trace("link watch failed to start", err.message));
    child.once("close", (code, signal) => {
      if (this.stopped) return;
      trace("link watch ended; starting it again", { code, signal });
      this.restartTimer = setTimeout(() => {
        this.start();
        this.onChange();
      }, this.restartDelayMs);
      this.restartTimer.unref();
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    if (this.child?.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
  }
}
