/**
 * Runs `api-gap-poller.js` (the built one) as its own process, in a lab host's namespace or in this
 * one, and collects its report when stopped: the longest gap between two successful reads of a
 * client polling the API every 100 ms.
 */
import { spawn } from "node:child_process";
import type { GapReport } from "./api-gap-poller.js";
import { distPath } from "./kctl-process.js";

export interface GapPoller {
  /** Stops the poller (SIGTERM) and resolves with what it saw. */
  stop(): Promise<GapReport>;
}

/** Polls with the kubeconfig `config`, from the namespace `netns` when given. */
export function startGapPoller(config: string, netns?: string): GapPoller {
  const argv = [process.execPath, distPath("e2e", "support", "api-gap-poller.js"), config];
  const [cmd, ...rest] = netns ? ["ip", "netns", "exec", netns, ...argv] : argv;
  const child = spawn(cmd!, rest, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  return {
    async stop() {
      child.kill("SIGTERM");
      await closed;
      try {
        return JSON.parse(out) as GapReport;
      } catch {
        throw new Error(`the API gap poller printed no report: ${JSON.stringify(out)}`);
      }
    },
  };
}
