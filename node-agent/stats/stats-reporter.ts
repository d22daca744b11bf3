/**
 * Sends the node's and its pods' usage to the control plane every `intervalMs` (15 s by default,
 * metrics-server's resolution), one small ReportStats call per period. A failed report is dropped,
 * not retried: the next sample supersedes it, and the control plane needs only the last two.
 */
import type { Clock, Timer } from "../../foundation/util/clock.js";
import { tracer } from "../../foundation/util/trace.js";
import type { Pod } from "../../proto/gen/api.js";
import type { NodeStatsReport } from "../../proto/gen/node.js";
import type { PodUsageDirs } from "../cgroups/pod-cgroups.js";
import { nodeUsage } from "./node-usage-linux.js";
import { samplePods, toResourceUsage } from "./pod-stats.js";

const trace = tracer("stats");

export const DEFAULT_STATS_INTERVAL_MS = 15_000;

export interface StatsReporterOptions {
  nodeName: string;
  clock: Clock;
  intervalMs?: number;
  /** The pods this node runs now. */
  pods: () => readonly Pod[];
  dirs: PodUsageDirs;
  send: (report: NodeStatsReport) => Promise<unknown>;
}

/** One report: the node's usage and each readable pod's. */
export async function sampleNode(opts: StatsReporterOptions): Promise<NodeStatsReport> {
  const now = () => opts.clock.now();
  const [node, pods] = await Promise.all([nodeUsage(), samplePods(opts.pods(), opts.dirs, now)]);
  const usage = toResourceUsage(node, now());
  return { nodeName: opts.nodeName, ...(usage ? { usage } : {}), pods };
}

/** Starts reporting at once and then every interval; `stop()` ends it. */
export function startStatsReporter(opts: StatsReporterOptions): { stop(): void } {
  const intervalMs = opts.intervalMs ?? DEFAULT_STATS_INTERVAL_MS;
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 1000) {
    throw new RangeError(
      `statsIntervalMs: ${intervalMs} must be a whole number of milliseconds, at least 1000`,
    );
  }
  let timer: Timer | undefined;
  let stopped = false;
  const tick = async () => {
    try {
      await opts.send(await sampleNode(opts));
    } catch (err) {
      trace("report dropped", String(err));
    }
    if (!stopped) timer = opts.clock.setTimer(intervalMs, () => void tick());
  };
  void tick();
  return {
    stop: () => {
      stopped = true;
      timer?.cancel();
    },
  };
}
