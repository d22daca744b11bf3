/**
 * An API availability probe, run as its own process so it can sit in a lab host's namespace:
 * `node dist/e2e/support/api-gap-poller.js CONFIG` reads namespace `default` through kctl's client
 * (with every server CONFIG lists) every 100 ms until SIGTERM, then prints one JSON line: the
 * longest time between two successful reads, and how many reads succeeded and failed.
 */
import { resourceForKind } from "../../foundation/api/resources.js";
import { ApiClient } from "../../kctl/client.js";
import { readConfig } from "../../kctl/config.js";

export interface GapReport {
  maxGapMs: number;
  ok: number;
  failed: number;
  /** The server the client used last. */
  server: string;
}

const periodMs = 100;

async function main(configPath: string): Promise<void> {
  const client = new ApiClient(await readConfig(configPath));
  const namespaces = resourceForKind("v1", "Namespace")!;
  let stopped = false;
  process.once("SIGTERM", () => (stopped = true));
  const report: GapReport = { maxGapMs: 0, ok: 0, failed: 0, server: client.server };
  let lastOk = performance.now();
  while (!stopped) {
    const started = performance.now();
    try {
      await client.get(namespaces, undefined, "default");
      const now = performance.now();
      report.maxGapMs = Math.max(report.maxGapMs, Math.round(now - lastOk));
      lastOk = now;
      report.ok++;
    } catch {
      report.failed++;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, periodMs - (performance.now() - started))));
  }
  report.server = client.server;
  client.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

const [configPath] = process.argv.slice(2);
if (!configPath) {
  process.stderr.write("usage: api-gap-poller.js CONFIG\n");
  process.exit(2);
}
void main(configPath).catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
