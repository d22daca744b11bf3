/**
 * zstd-compressed layers (`+zstd` media types) decompressed by Debian's `zstd`, the reference
 * implementation, as a child process: Node 20's zlib has no zstd, and the npm decoders are either
 * JavaScript ports of it (fzstd) or native addons that fetch prebuilt binaries or build with
 * node-gyp at install. The child only decompresses; everything it outputs goes
 * through the same checks as a gunzipped layer (size limit, diffID, entry policy). zstd's default
 * decompression memory limit (a 128 MiB window) stands, so a frame asking for a larger window is
 * refused instead of allocated.
 */
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { ImageError } from "./errors.js";

export const ZSTD_BIN = "zstd";

export interface ZstdStream {
  /** The decompressed bytes. */
  stream: Readable;
  /** Resolves when zstd exited cleanly; rejects with its own reason otherwise. */
  done: Promise<void>;
  /** Stops zstd (the reader gave up early). */
  stop(): void;
}

/** Decompresses the zstd file `path`; `what` names it in errors. */
export function zstdDecompress(path: string, what: string): ZstdStream {
  const child = spawn(ZSTD_BIN, ["-d", "-c", "-q", "--", path], { stdio: ["ignore", "pipe", "pipe"] });
  const stderr: Buffer[] = [];
  child.stderr.on("data", (d: Buffer) => stderr.push(d));
  let stopped = false;
  const done = new Promise<void>((resolve, reject) => {
    child.once("error", (err) =>
      reject(new ImageError("SystemError", `${what}: cannot run ${ZSTD_BIN}: ${err.message}`)),
    );
    child.once("close", (code, signal) => {
      if (code === 0 || stopped) return resolve();
      const why = Buffer.concat(stderr).toString().trim().split("\n").at(-1) || `exit ${code ?? signal}`;
      reject(new ImageError("InvalidImage", `${what}: not a readable zstd stream: ${why}`));
    });
  });
  return {
    stream: child.stdout,
    done,
    stop: () => {
      stopped = true;
      child.kill("SIGKILL");
    },
  };
}
