/**
 * What the lab propagation benchmarks share: a watch on one host's nftables rules (`nft monitor
 * rules`, which prints a rule change when its transaction commits, so a change is timed without
 * polling) and the latency summary they report.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

const quantile = (xs: readonly number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const round1 = (x: number) => Math.round(x * 10) / 10;

/** Median, p90, p99 and max of `xs` (ms), to 0.1. */
export function latencySummary(xs: readonly number[]) {
  return {
    median: round1(quantile(xs, 0.5)),
    p90: round1(quantile(xs, 0.9)),
    p99: round1(quantile(xs, 0.99)),
    max: round1(Math.max(...xs)),
  };
}

/** Resolves each address matching `pattern` the first time any rule change on the host mentions it. */
export class RuleMonitor {
  private readonly waiters = new Map<string, (at: number) => void>();
  private readonly seen = new Map<string, number>();
  private readonly child: ChildProcess;

  constructor(
    readonly host: string,
    netns: string,
    pattern: RegExp,
  ) {
    const global = new RegExp(pattern.source, "g");
    this.child = spawn("ip", ["netns", "exec", netns, "nft", "monitor", "rules"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      const at = performance.now();
      for (const m of line.matchAll(global)) {
        if (this.seen.has(m[0])) continue;
        this.seen.set(m[0], at);
        this.waiters.get(m[0])?.(at);
      }
    });
  }

  /** When the host's rules first carried `ip` (performance.now() time). */
  carried(ip: string, timeoutMs: number): Promise<number> {
    const at = this.seen.get(ip);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`host ${this.host}: rules did not carry ${ip} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.set(ip, (t) => {
        clearTimeout(timer);
        this.waiters.delete(ip);
        resolve(t);
      });
    });
  }

  stop(): void {
    this.child.kill();
  }
}
