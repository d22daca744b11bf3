/**
 * The build's progress as docker build prints it: `[2/7] RUN ...`, `CACHED` or the step's time,
 * and what a RUN prints, as it prints it. Quiet (nothing) when the output is not a terminal, so a piped build
 * prints only its result.
 */
import type { Output } from "../command.js";
import type { BuildProgress } from "./builder.js";

/** Reports nothing. */
export const quietProgress: BuildProgress = { step() {}, cached() {}, output() {}, done() {} };

export function buildProgress(out: Output & { isTTY?: boolean }, quiet = !out.isTTY): BuildProgress {
  if (quiet) return quietProgress;
  let cached = false;
  return {
    step(index, total, text) {
      cached = false;
      out.write(`[${index}/${total}] ${text.length > 100 ? `${text.slice(0, 97)}...` : text}\n`);
    },
    cached() {
      cached = true;
    },
    output(text) {
      out.write(text.replace(/^/gm, "  | ").replace(/ {2}\| $/, ""));
    },
    done(ms) {
      out.write(cached ? "  CACHED\n" : `  DONE ${(ms / 1000).toFixed(1)}s\n`);
    },
  };
}
