/**
 * A pass-through stream that fails once more than a set number of bytes went through it, so a
 * small compressed blob cannot expand into an unbounded write (a gzip bomb) or read.
 */
import { Transform, type TransformCallback } from "node:stream";
import { ImageError } from "./errors.js";

/** `10 GiB (10737418240 bytes)`: readable, and exact for whoever sets the option. */
export function describeBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const short = `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
  return unit === 0 ? short : `${short} (${bytes} bytes)`;
}

export class SizeLimit extends Transform {
  private seen = 0;

  /** `what` names the stream in the error: `image X layers[0] (sha256:...): uncompressed layer`. */
  constructor(
    private readonly limit: number,
    private readonly what: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      done(
        new ImageError("TooLarge", `${this.what} is larger than the limit of ${describeBytes(this.limit)}`),
      );
      return;
    }
    done(null, chunk);
  }
}
