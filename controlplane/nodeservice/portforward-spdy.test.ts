/**
 * The port-forward SPDY server driven with hand-built client frames over a real socket, with a
 * stand-in dialer: replies, pings, pairing by requestid, refusals, and a session cut mid-way.
 */
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { constants, createDeflate } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError } from "../../foundation/api/errors.js";
import type { PodPort, PodPortSink } from "./pod-port.js";
import { servePortForwardSpdy } from "./portforward-spdy.js";
import { spdy3Dictionary } from "./spdy-dictionary.js";
import {
  decodeHeaderBlock,
  encodeData,
  encodeHeaderBlock,
  encodePing,
  FrameReader,
  frameType,
  HeaderDecompressor,
  type SpdyFrame,
} from "./spdy-frames.js";

/** A client end: writes hand-built frames, reads and decodes what the server sends. */
class Client {
  private readonly deflate = createDeflate({ dictionary: spdy3Dictionary });
  private readonly inflater = new HeaderDecompressor();
  private readonly reader = new FrameReader();
  readonly frames: SpdyFrame[] = [];

  constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => this.frames.push(...this.reader.push(d)));
  }

  private compress(block: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      const out: Buffer[] = [];
      const onData = (d: Buffer) => out.push(d);
      this.deflate.on("data", onData);
      this.deflate.write(block);
      this.deflate.flush(constants.Z_SYNC_FLUSH, () => {
        this.deflate.off("data", onData);
        resolve(Buffer.concat(out));
      });
    });
  }

  /** SYN_STREAM: 80 03 00 01 | flags | length | stream id | associated 0 | priority, slot | headers */
  async synStream(id: number, headers: Record<string, string>): Promise<void> {
    const block = await this.compress(encodeHeaderBlock(headers));
    const head = Buffer.alloc(18);
    head.writeUInt32BE(0x80030001, 0);
    head.writeUIntBE(10 + block.length, 5, 3);
    head.writeUInt32BE(id, 8);
    this.socket.write(Buffer.concat([head, block]));
  }

  async next(match: (f: SpdyFrame) => boolean): Promise<SpdyFrame> {
    for (;;) {
      const i = this.frames.findIndex(match);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      await once(this.socket, "data");
    }
  }

  async replyHeaders(frame: SpdyFrame): Promise<Map<string, string[]>> {
    if (frame.kind !== "control") throw new Error("not a control frame");
    return decodeHeaderBlock(await this.inflater.decompress(frame.payload.subarray(4)));
  }

  close(): void {
    this.inflater.close();
    this.socket.destroy();
  }
}

const control = (type: number, streamId?: number) => (f: SpdyFrame) =>
  f.kind === "control" && f.type === type && (streamId === undefined || f.streamId === streamId);
const data = (streamId: number) => (f: SpdyFrame) => f.kind === "data" && f.streamId === streamId;

describe("servePortForwardSpdy", () => {
  let server: Server | undefined;
  let client: Client | undefined;
  afterEach(() => {
    client?.close();
    server?.close();
  });

  /** Starts a server whose dialer echoes in upper case, or fails for port 9. */
  async function start(dialed: number[], cancelled: number[]): Promise<Client> {
    server = createServer((socket) =>
      servePortForwardSpdy(socket, (port: number, sink: PodPortSink) => {
        dialed.push(port);
        if (port === 9) queueMicrotask(() => sink.end(new ApiError("InternalError", "connection refused")));
        return {
          write: async (chunk: Buffer) => void sink.data(Buffer.from(chunk.toString().toUpperCase())),
          closeWrite: () => sink.end(),
          cancel: () => cancelled.push(port),
        } as unknown as PodPort;
      }),
    );
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const socket = connect((server.address() as { port: number }).port, "127.0.0.1");
    await once(socket, "connect");
    client = new Client(socket);
    return client;
  }

  it("replies to each stream, pairs data with error by requestid, and relays with half-close", async () => {
    const dialed: number[] = [];
    const c = await start(dialed, []);
    await c.synStream(1, { streamtype: "error", port: "80", requestid: "0" });
    await c.synStream(3, { streamtype: "data", port: "80", requestid: "0" });
    expect(await c.replyHeaders(await c.next(control(frameType.synReply, 1)))).toEqual(new Map());
    await c.next(control(frameType.synReply, 3));
    expect(dialed).toEqual([80]);
    c.socket.write(encodeData(3, Buffer.from("hello"), false));
    const echoed = await c.next(data(3));
    expect(echoed).toMatchObject({ data: Buffer.from("HELLO"), fin: false });
    c.socket.write(encodeData(3, Buffer.alloc(0), true));
    expect(await c.next(data(3))).toMatchObject({ fin: true });
    expect(await c.next(data(1))).toMatchObject({ fin: true, data: Buffer.alloc(0) });
  });

  it("echoes pings and resets a stream of an unknown type", async () => {
    const c = await start([], []);
    c.socket.write(encodePing(7));
    const pong = await c.next(control(frameType.ping));
    expect(pong.kind === "control" && pong.payload.readUInt32BE(0)).toBe(7);
    await c.synStream(1, { streamtype: "video", port: "80", requestid: "0" });
    const rst = await c.next(control(frameType.rstStream, 1));
    expect(rst.kind === "control" && rst.payload.readUInt32BE(4)).toBe(5);
  });

  it("writes a dial failure and a bad port on the error stream, then closes both", async () => {
    const dialed: number[] = [];
    const c = await start(dialed, []);
    await c.synStream(1, { streamtype: "error", port: "9", requestid: "1" });
    await c.synStream(3, { streamtype: "data", port: "9", requestid: "1" });
    expect(await c.next(data(1))).toMatchObject({ data: Buffer.from("connection refused") });
    await c.synStream(5, { streamtype: "error", port: "http", requestid: "2" });
    await c.synStream(7, { streamtype: "data", port: "http", requestid: "2" });
    const bad = await c.next(data(5));
    expect(bad.kind === "data" && bad.data.toString()).toBe(
      'invalid port "http": must be a number from 1 to 65535',
    );
    expect(dialed).toEqual([9]);
  });

  it("cancels the pod's side when the client's connection is cut", async () => {
    const cancelled: number[] = [];
    const c = await start([], cancelled);
    await c.synStream(1, { streamtype: "error", port: "80", requestid: "0" });
    await c.synStream(3, { streamtype: "data", port: "80", requestid: "0" });
    await c.next(control(frameType.synReply, 3));
    c.socket.destroy();
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (cancelled.length > 0) {
          clearInterval(poll);
          resolve();
        }
      }, 10);
    });
    expect(cancelled).toContain(80);
  });
});
