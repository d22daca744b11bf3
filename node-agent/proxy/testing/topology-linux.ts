/**
 * Throwaway network topologies for root tests and benchmarks of the proxy and host routes: network
 * namespaces bound beneath one scratch dir, veth links between them, a pod bridge in a "host", pods
 * serving their own name over HTTP with busybox httpd, and clients that fetch from inside a
 * namespace. Nothing is created in the caller's namespace; `destroy()` stops every process it
 * started (by pid) and removes every namespace, also after a failure.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeNetns, makeScratchDir, removeScratchDir } from "../../network/testing/scratch-linux.js";

export class Topology {
  readonly dir: string;
  private readonly children: ChildProcess[] = [];
  private links = 0;

  constructor(prefix: string) {
    this.dir = makeScratchDir(prefix);
  }

  /** A new network namespace with `lo` up; returns its file. */
  netns(name: string): string {
    const path = makeNetns(join(this.dir, name));
    this.ip(path, "link set lo up");
    return path;
  }

  /** Runs `argv` inside `netns` and returns its stdout; throws on a non-zero exit. */
  run(netns: string, argv: readonly string[], input?: string): string {
    return execFileSync("nsenter", [`--net=${netns}`, ...argv], {
      encoding: "utf8",
      input,
      maxBuffer: 1 << 28,
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
  }

  /** Runs `ip -batch -` over `lines` in `netns`. */
  ip(netns: string, ...lines: string[]): void {
    this.run(netns, ["ip", "-batch", "-"], `${lines.join("\n")}\n`);
  }

  /** A veth pair from `a` (address `addrA`, CIDR form) to `b` (`addrB`); returns the two interface names. */
  link(a: string, addrA: string, b: string, addrB: string): [string, string] {
    const n = this.links++;
    const [ifA, ifB] = [`tva${n}`, `tvb${n}`];
    this.ip(
      a,
      `link add ${ifA} type veth peer name ${ifB} netns ${b}`,
      `addr add ${addrA} dev ${ifA}`,
      `link set ${ifA} up`,
    );
    this.ip(b, `addr add ${addrB} dev ${ifB}`, `link set ${ifB} up`);
    return [ifA, ifB];
  }

  /** A bridge `name` in `host` holding `gateway` (CIDR form), with forwarding on. */
  bridge(host: string, name: string, gateway: string): void {
    this.ip(host, `link add ${name} type bridge`, `addr add ${gateway} dev ${name}`, `link set ${name} up`);
    this.run(host, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  }

  /**
   * A pod namespace `name` whose eth0 has `address` (CIDR form) and a default route via `gateway`,
   * its host end a hairpin port of `bridge` in `host` (as the node's pod network makes them); both
   * ends at `mtu` when given, else the kernel's default.
   */
  pod(host: string, bridge: string, name: string, address: string, gateway: string, mtu?: number): string {
    const pod = this.netns(name);
    const n = this.links++;
    const hostEnd = `tvp${n}`;
    const size = mtu === undefined ? "" : ` mtu ${mtu}`;
    this.ip(
      host,
      `link add ${hostEnd}${size} type veth peer name eth0${size} netns ${pod}`,
      `link set ${hostEnd} master ${bridge} up`,
      `link set ${hostEnd} type bridge_slave hairpin on`,
    );
    this.ip(pod, `addr add ${address} dev eth0`, "link set eth0 up", `route add default via ${gateway}`);
    return pod;
  }

  /** Starts busybox httpd in `netns` on `port`, answering every GET with `body`; waits until it listens. */
  async httpd(netns: string, port: number, body: string): Promise<ChildProcess> {
    const www = join(this.dir, `www-${this.children.length}`);
    mkdirSync(www);
    writeFileSync(join(www, "index.html"), `${body}\n`);
    return this.spawnServer(netns, ["busybox", "httpd", "-f", "-p", String(port), "-h", www], port);
  }

  /** Starts `argv` in `netns` (stopped by destroy) and waits until something listens on TCP `port` there. */
  async spawnServer(netns: string, argv: readonly string[], port: number): Promise<ChildProcess> {
    const child = spawn("nsenter", [`--net=${netns}`, ...argv], { stdio: "ignore" });
    this.children.push(child);
    const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
    for (let i = 0; i < 100; i++) {
      const listening = this.run(netns, ["cat", "/proc/net/tcp", "/proc/net/tcp6"])
        .split("\n")
        .some((l) => / 0A /.test(l) && l.split(/\s+/)[2]?.endsWith(`:${hexPort}`));
      if (listening) return child;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${argv.join(" ")} in ${netns} does not listen on port ${port}`);
  }

  /**
   * Fetches `url` `count` times from inside `netns` (one shell, one busybox wget per request,
   * each bounded by `timeout 3`); returns one line per request: the body, or FAIL.
   */
  fetch(netns: string, url: string, count: number): string[] {
    const script = `i=0; while [ $i -lt ${count} ]; do timeout 3 busybox wget -q -O - "$1" 2>/dev/null || echo FAIL; i=$((i+1)); done`;
    return this.run(netns, ["sh", "-c", script, "fetch", url]).trimEnd().split("\n");
  }

  /** Stops every process started here and removes every namespace and file. */
  async destroy(): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGKILL");
          }),
      ),
    );
    removeScratchDir(this.dir);
  }
}

/** How many times each distinct line occurs. */
export function tally(lines: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) out[l] = (out[l] ?? 0) + 1;
  return out;
}
