/**
 * A preload that profiles a whole Node process and writes `<CPU_PROFILE_DIR>/<pid>.cpuprofile` when
 * it exits, for the benchmarks' profiles of lab processes (every lab process inherits the variables):
 *
 *   CPU_PROFILE_DIR=/tmp/prof NODE_OPTIONS="--import $PWD/dist/e2e/bench/support/cpu-profile.js" …
 *
 * Node 20 refuses `--cpu-prof` in NODE_OPTIONS. A process killed with SIGKILL writes nothing.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";

const dir = process.env.CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  // The main thread's inspector session answers synchronously, so this completes inside 'exit'.
  process.on("exit", () =>
    session.post("Profiler.stop", (err, result) => {
      if (!err) writeFileSync(`${dir}/${process.pid}.cpuprofile`, JSON.stringify(result.profile));
    }),
  );
}
