#!/usr/bin/env node
/**
 * The `kctl` executable: runs `main` with the real process's streams, environment and clock, and
 * turns SIGINT/SIGTERM into an abort so `get -w` and other long requests end cleanly.
 */

import { realClock } from "../foundation/util/clock.js";
import { main } from "./cli.js";

const controller = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    // A second signal means the user does not want to wait for a clean stop.
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  });
}

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
  clock: realClock,
  signal: controller.signal,
});
process.exitCode = code;
