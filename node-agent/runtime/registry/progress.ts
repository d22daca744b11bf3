/**
 * Per-blob progress of a pull or push, for displays such as `kctl image pull`'s: a listener gets
 * the bytes of each blob as they pass and how each blob ended.
 */

import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import type { Descriptor } from "../images/oci.js";

/**
 * `moving`: bytes are passing (`bytes` so far); `present`: the other side already had it;
 * `mounted`: the registry took it from another repository; `done`: all of it passed.
 */
export type TransferState = "moving" | "present" | "mounted" | "done";

export interface TransferEvent {
  digest: string;
  size: number;
  state: TransferState;
  bytes: number;
}

export type ProgressListener = (event: TransferEvent) => void;

/** `stream` unchanged, with a `moving` event for every chunk that passes. */
export function counted(stream: Readable, desc: Descriptor, listener: ProgressListener): Readable {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      listener({ digest: desc.digest, size: desc.size, state: "moving", bytes });
      done(null, chunk);
    },
  });
  stream.on("error", (err) => counter.destroy(err));
  counter.on("close", () => {
    if (!stream.destroyed) stream.destroy();
  });
  return stream.pipe(counter);
}

/** Tells `listener` (if any) that `desc` ended in `state`. */
export function ended(
  desc: Descriptor,
  state: Exclude<TransferState, "moving">,
  listener?: ProgressListener,
): void {
  listener?.({ digest: desc.digest, size: desc.size, state, bytes: state === "done" ? desc.size : 0 });
}
