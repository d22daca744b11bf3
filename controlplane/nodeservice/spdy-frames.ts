/**
 * SPDY/3.1 framing, the part of it kubectl's port-forward speaks (client-go's httpstream/spdy over
 * moby/spdystream): frames cut from a byte stream, the frames a server sends, and header blocks.
 *
 * Control frame: `1 | version(15)=3 | type(16) | flags(8) | length(24) | payload`;
 * data frame: `0 | streamId(31) | flags(8) | length(24) | data`. Header blocks are
 * `count(32)` then per header `len(32) name len(32) value`, zlib-compressed with one context per
 * direction and the SPDY/3 dictionary. Reading inflates with Node's zlib (asynchronously, in frame
 * order); writing emits zlib "stored" blocks, which every zlib reader accepts and which need no
 * compressor state beyond the stream header.
 */
import { constants, createInflate, type Inflate } from "node:zlib";
import { spdy3Dictionary } from "./spdy-dictionary.js";

export const frameType = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goaway: 7,
  headers: 8,
  windowUpdate: 9,
} as const;

export const flagFin = 0x01;
export const flagUnidirectional = 0x02;
/** RST_STREAM status codes used here. */
export const rstStatus = { protocolError: 1, cancel: 5 } as const;

/** A frame larger than this is refused: port-forward never sends one, and it bounds what is buffered. */
export const maxFrameLength = 1 << 20;

export class SpdyProtocolError extends Error {}

export type SpdyFrame =
  | { kind: "data"; streamId: number; fin: boolean; data: Buffer }
  | {
      kind: "control";
      type: number;
      flags: number;
      /** The stream a SYN_STREAM/SYN_REPLY/RST_STREAM/HEADERS/WINDOW_UPDATE is about; 0 otherwise. */
      streamId: number;
      payload: Buffer;
    };

/** Cuts frames out of a byte stream; keeps the incomplete tail for the next chunk. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): SpdyFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: SpdyFrame[] = [];
    while (this.pending.length >= 8) {
      const length = this.pending.readUIntBE(5, 3);
      if (length > maxFrameLength)
        throw new SpdyProtocolError(`frame of ${length} bytes exceeds ${maxFrameLength}`);
      if (this.pending.length < 8 + length) break;
      const head = this.pending.readUInt32BE(0);
      const flags = this.pending[4]!;
      const payload = this.pending.subarray(8, 8 + length);
      this.pending = this.pending.subarray(8 + length);
      if (head & 0x80000000) {
        const version = (head >>> 16) & 0x7fff;
        if (version !== 3) throw new SpdyProtocolError(`SPDY version ${version} is not supported (want 3)`);
        const type = head & 0xffff;
        const hasStream = type !== frameType.settings && type !== frameType.ping && type !== frameType.goaway;
        const streamId = hasStream && payload.length >= 4 ? payload.readUInt32BE(0) & 0x7fffffff : 0;
        frames.push({ kind: "control", type, flags, streamId, payload });
      } else {
        frames.push({
          kind: "data",
          streamId: head & 0x7fffffff,
          fin: (flags & flagFin) !== 0,
          data: payload,
        });
      }
    }
    return frames;
  }
}

function control(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE((0x8000 | 3) * 0x10000 + type, 0);
  head[4] = flags;
  head.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([head, payload]);
}

export function encodeData(streamId: number, data: Buffer, fin: boolean): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head[4] = fin ? flagFin : 0;
  head.writeUIntBE(data.length, 5, 3);
  return Buffer.concat([head, data]);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  for (const [i, v] of values.entries()) b.writeUInt32BE(v >>> 0, 4 * i);
  return b;
}

/** SYN_REPLY with an already compressed header block. */
export function encodeSynReply(streamId: number, headerBlock: Buffer, fin: boolean): Buffer {
  return control(frameType.synReply, fin ? flagFin : 0, Buffer.concat([u32(streamId), headerBlock]));
}

export function encodeRstStream(streamId: number, status: number): Buffer {
  return control(frameType.rstStream, 0, u32(streamId, status));
}

export function encodePing(id: number): Buffer {
  return control(frameType.ping, 0, u32(id));
}

export function encodeGoaway(lastGoodStreamId: number, status = 0): Buffer {
  return control(frameType.goaway, 0, u32(lastGoodStreamId, status));
}

/** The uncompressed form of a header block. Names are lowercased, as SPDY requires. */
export function encodeHeaderBlock(headers: Readonly<Record<string, string>>): Buffer {
  const parts: Buffer[] = [u32(Object.keys(headers).length)];
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name.toLowerCase());
    const v = Buffer.from(value);
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Parses an uncompressed header block; names lowercased, a NUL-joined value split into its values. */
export function decodeHeaderBlock(block: Buffer): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const need = (at: number, n: number) => {
    if (at + n > block.length) throw new SpdyProtocolError("header block is truncated");
  };
  need(0, 4);
  const count = block.readUInt32BE(0);
  let at = 4;
  for (let i = 0; i < count; i++) {
    need(at, 4);
    const nameLen = block.readUInt32BE(at);
    need(at + 4, nameLen + 4);
    const name = block.toString("latin1", at + 4, at + 4 + nameLen).toLowerCase();
    at += 4 + nameLen;
    const valueLen = block.readUInt32BE(at);
    need(at + 4, valueLen);
    const value = block.toString("utf8", at + 4, at + 4 + valueLen);
    at += 4 + valueLen;
    out.set(name, [...(out.get(name) ?? []), ...value.split("\0")]);
  }
  return out;
}

/**
 * Compresses header blocks for one direction of a session: a zlib stream header once, then each
 * block as non-final stored deflate blocks followed by an empty one, which is what zlib's sync
 * flush ends with: Go's inflater hands out a stored block's bytes only when it meets the next
 * block, and an empty stored block is the one it can read without waiting for the next frame.
 */
export class HeaderCompressor {
  private started = false;

  compress(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      // CMF 0x78 (deflate, 32K window), FLG 0x01 (no dictionary needed: stored blocks refer to nothing).
      parts.push(Buffer.from([0x78, 0x01]));
      this.started = true;
    }
    for (let at = 0; at < block.length; at += 0xffff)
      parts.push(storedBlock(block.subarray(at, at + 0xffff)));
    parts.push(storedBlock(Buffer.alloc(0)));
    return Buffer.concat(parts);
  }
}

/** A non-final stored deflate block: BFINAL=0, BTYPE=00 padded to a byte, LEN, NLEN, bytes. */
function storedBlock(piece: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt16LE(piece.length, 1);
  head.writeUInt16LE(~piece.length & 0xffff, 3);
  return Buffer.concat([head, piece]);
}

/** Inflates the header blocks of one direction of a session, in order, with the shared context. */
export class HeaderDecompressor {
  private readonly inflate: Inflate = createInflate({ dictionary: spdy3Dictionary });
  private chain: Promise<unknown> = Promise.resolve();
  private failed: Error | undefined;

  constructor() {
    this.inflate.on("error", (err: Error) => {
      this.failed = err;
    });
  }

  /** The uncompressed block; blocks must be given in the order they arrived. */
  decompress(compressed: Buffer): Promise<Buffer> {
    const next = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          const fail = (err: Error) => reject(new SpdyProtocolError(`header block: ${err.message}`));
          if (this.failed) return fail(this.failed);
          const out: Buffer[] = [];
          const onData = (d: Buffer) => out.push(d);
          const onError = (err: Error) => {
            this.inflate.off("data", onData);
            fail(err);
          };
          this.inflate.on("data", onData);
          this.inflate.once("error", onError);
          this.inflate.write(compressed);
          this.inflate.flush(constants.Z_SYNC_FLUSH, () => {
            this.inflate.off("data", onData);
            // A corrupt block reports its error after the flush: wait for the next turn to know.
            setImmediate(() => {
              this.inflate.off("error", onError);
              if (this.failed) fail(this.failed);
              else resolve(Buffer.concat(out));
            });
          });
        }),
    );
    this.chain = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.inflate.destroy();
  }
}
