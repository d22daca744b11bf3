/**
 * `kctl image pull|push`'s per-blob progress, like `docker pull`'s: on a terminal one line per blob,
 * redrawn in place at most every 100 ms; anywhere else nothing (the command prints its result).
 */
import type { TransferEvent } from "../../node-agent/runtime/registry/index.js";
import type { Output } from "../command.js";

const REDRAW_MS = 100;

export interface ProgressDisplay {
  listener(event: TransferEvent): void;
  /** Draws the final state; call once when the transfer ends, whether it worked or not. */
  finish(): void;
}

export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${n}B` : `${value.toFixed(value < 10 ? 2 : 1)}${units[unit]}`;
}

/** One line for a blob, docker's words. */
export function progressLine(event: TransferEvent, verb: "Downloading" | "Pushing"): string {
  const id = event.digest.replace(/^sha256:/, "").slice(0, 12);
  switch (event.state) {
    case "moving":
      return `${id}: ${verb} ${formatBytes(event.bytes)}/${formatBytes(event.size)}`;
    case "present":
      return `${id}: ${verb === "Pushing" ? "Layer already exists" : "Already exists"}`;
    case "mounted":
      return `${id}: Mounted from another repository`;
    case "done":
      return `${id}: ${verb === "Pushing" ? "Pushed" : "Pull complete"}`;
  }
}

/** A display on `out` when it is a terminal; one that draws nothing otherwise. */
export function progressDisplay(
  out: Output,
  verb: "Downloading" | "Pushing",
  now = Date.now,
): ProgressDisplay {
  if ((out as { isTTY?: boolean }).isTTY !== true) return { listener: () => {}, finish: () => {} };
  const lines = new Map<string, string>();
  let drawn = 0;
  let last = 0;
  const draw = () => {
    let text = drawn > 0 ? `\x1b[${drawn}A` : "";
    for (const line of lines.values()) text += `\x1b[2K${line}\n`;
    drawn = lines.size;
    last = now();
    out.write(text);
  };
  return {
    listener(event) {
      lines.set(event.digest, progressLine(event, verb));
      if (event.state !== "moving" || now() - last >= REDRAW_MS) draw();
    },
    finish() {
      if (lines.size > 0) draw();
    },
  };
}
