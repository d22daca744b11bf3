/**
 * Benchmark of pod sandbox setup and teardown (see sandbox-timing.ts). Writes JSON to the output
 * file; run as root:
 *
 *   node dist/node-agent/network/testing/sandbox-bench.js [pods=50] [out=sandbox-bench.json]
 */
import { writeFileSync } from "node:fs";
import { timeSandboxes } from "./sandbox-timing.js";

const result = await timeSandboxes(Number(process.argv[2] ?? 50));
writeFileSync(process.argv[3] ?? "sandbox-bench.json", `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result)}\n`);
