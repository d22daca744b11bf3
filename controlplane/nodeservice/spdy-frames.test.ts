import { constants, createDeflate } from "node:zlib";
import { describe, expect, it } from "vitest";
import { spdy3Dictionary } from "./spdy-dictionary.js";
import {
  decodeHeaderBlock,
  encodeData,
  encodeHeaderBlock,
  encodeRstStream,
  encodeSynReply,
  FrameReader,
  frameType,
  HeaderCompressor,
  HeaderDecompressor,
  SpdyProtocolError,
} from "./spdy-frames.js";

/** Compresses header blocks as Go's spdy framer does: one zlib context with the dictionary, sync-flushed per block. */
function goStyleCompressor(): (block: Buffer) => Promise<Buffer> {
  const deflate = createDeflate({ dictionary: spdy3Dictionary });
  let chain: Promise<unknown> = Promise.resolve();
  return (block) => {
    const next = chain.then(
      () =>
        new Promise<Buffer>((resolve) => {
          const out: Buffer[] = [];
          const onData = (d: Buffer) => out.push(d);
          deflate.on("data", onData);
          deflate.write(block);
          deflate.flush(constants.Z_SYNC_FLUSH, () => {
            deflate.off("data", onData);
            resolve(Buffer.concat(out));
          });
        }),
    );
    chain = next;
    return next;
  };
}

describe("spdy3Dictionary", () => {
  it("is the 1423 bytes whose zlib id is 0xe3c6a7c2", () => {
    expect(spdy3Dictionary.length).toBe(1423);
    let a = 1;
    let b = 0;
    for (const byte of spdy3Dictionary) {
      a = (a + byte) % 65521;
      b = (b + a) % 65521;
    }
    expect(((b << 16) | a) >>> 0).toBe(0xe3c6a7c2);
  });
});

describe("FrameReader", () => {
  it("cuts a hand-built SYN_STREAM and a data frame out of chunks split anywhere", () => {
    // SYN_STREAM: 80 03 00 01 | flags 00 | length 00 00 0e | stream 1 | assoc 0 | pri 0, slot 0 | block
    const syn = Buffer.from([
      0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0e, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd,
    ]);
    // DATA: stream 1, FIN, 3 bytes "abc"
    const data = Buffer.from([0, 0, 0, 1, 0x01, 0, 0, 3, 0x61, 0x62, 0x63]);
    const all = Buffer.concat([syn, data]);
    for (let cut = 0; cut <= all.length; cut++) {
      const reader = new FrameReader();
      const frames = [...reader.push(all.subarray(0, cut)), ...reader.push(all.subarray(cut))];
      expect(frames).toEqual([
        {
          kind: "control",
          type: frameType.synStream,
          flags: 0,
          streamId: 1,
          payload: syn.subarray(8),
        },
        { kind: "data", streamId: 1, fin: true, data: Buffer.from("abc") },
      ]);
    }
  });

  it("refuses another SPDY version and a frame larger than a megabyte", () => {
    expect(() => new FrameReader().push(Buffer.from([0x80, 0x02, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1]))).toThrow(
      /SPDY version 2 is not supported/,
    );
    expect(() => new FrameReader().push(Buffer.from([0, 0, 0, 1, 0, 0x20, 0, 0]))).toThrow(SpdyProtocolError);
  });
});

describe("frame encoders", () => {
  it("writes data, SYN_REPLY and RST_STREAM as the spec lays them out", () => {
    expect([...encodeData(3, Buffer.from("hi"), true)]).toEqual([0, 0, 0, 3, 1, 0, 0, 2, 0x68, 0x69]);
    expect([...encodeSynReply(5, Buffer.from([9]), false)]).toEqual([
      0x80, 3, 0, 2, 0, 0, 0, 5, 0, 0, 0, 5, 9,
    ]);
    expect([...encodeRstStream(7, 5)]).toEqual([0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 7, 0, 0, 0, 5]);
  });
});

describe("header blocks", () => {
  it("encodes lowercased names with 32-bit lengths and decodes NUL-joined values", () => {
    const block = encodeHeaderBlock({ Port: "80" });
    expect([...block]).toEqual([0, 0, 0, 1, 0, 0, 0, 4, 0x70, 0x6f, 0x72, 0x74, 0, 0, 0, 2, 0x38, 0x30]);
    const multi = Buffer.concat([
      block.subarray(0, 12),
      Buffer.from([0, 0, 0, 5]),
      Buffer.from("80\u000081"),
    ]);
    expect(decodeHeaderBlock(multi).get("port")).toEqual(["80", "81"]);
    expect(() => decodeHeaderBlock(block.subarray(0, 10))).toThrow(/truncated/);
  });

  it("inflates blocks compressed as Go's framer does, the second relying on the first's history", async () => {
    const compress = goStyleCompressor();
    const inflater = new HeaderDecompressor();
    const first = encodeHeaderBlock({ streamtype: "error", port: "8080", requestid: "0" });
    const second = encodeHeaderBlock({ streamtype: "data", port: "8080", requestid: "0" });
    const [c1, c2] = [await compress(first), await compress(second)];
    expect(await inflater.decompress(c1)).toEqual(first);
    expect(await inflater.decompress(c2)).toEqual(second);
    inflater.close();
  });

  it("ends each block with an empty stored block, as a sync flush does", () => {
    const compressor = new HeaderCompressor();
    const empty = encodeHeaderBlock({});
    expect([...compressor.compress(empty)]).toEqual([
      0x78, 0x01, 0x00, 0x04, 0x00, 0xfb, 0xff, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xff, 0xff,
    ]);
    expect([...compressor.compress(empty)]).toEqual([
      0x00, 0x04, 0x00, 0xfb, 0xff, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xff, 0xff,
    ]);
  });

  it("writes stored blocks any zlib reader with the dictionary inflates, block after block", async () => {
    const compressor = new HeaderCompressor();
    const inflater = new HeaderDecompressor();
    const blocks = [encodeHeaderBlock({}), encodeHeaderBlock({ a: "b".repeat(70000) })];
    for (const b of blocks) expect(await inflater.decompress(compressor.compress(b))).toEqual(b);
    inflater.close();
  });

  it("fails a corrupt block as a protocol error", async () => {
    const inflater = new HeaderDecompressor();
    await expect(inflater.decompress(Buffer.from([0x78, 0x01, 0xff, 0xff, 0xff, 0xff]))).rejects.toThrow(
      SpdyProtocolError,
    );
    inflater.close();
  });
});
