/**
 * The server side of a SPDY/3.1 session over a byte stream (a socket after `Upgrade: SPDY/3.1`,
 * or the bytes tunneled in a WebSocket's binary messages): it replies to each stream the client
 * opens, echoes pings, and hands streams with their headers to `onStream`.
 *
 * Flow control is the byte stream's: frames are read one at a time, and a stream's `onData` may
 * return a promise that holds further reading until its consumer took the data, so a slow pod
 * slows the client instead of growing a buffer; writers check `write`'s result and wait on
 * `drained()`. The client going away (end, error, GOAWAY) resets every open stream.
 */
import type { Duplex } from "node:stream";
import {
  decodeHeaderBlock,
  encodeData,
  encodeGoaway,
  encodeHeaderBlock,
  encodePing,
  encodeRstStream,
  encodeSynReply,
  FrameReader,
  flagFin,
  frameType,
  HeaderCompressor,
  HeaderDecompressor,
  rstStatus,
  type SpdyFrame,
  SpdyProtocolError,
} from "./spdy-frames.js";

/** Data frames this server writes are cut to at most this many bytes. */
const maxDataFrame = 32 * 1024;

export class SpdyStream {
  /** The client's data; a returned promise holds the session's reading until it settles. */
  onData: (data: Buffer) => undefined | Promise<void> = () => undefined;
  /** The client half-closed the stream (FIN). */
  onEnd: () => void = () => undefined;
  /** The stream was reset, or the session ended, before both sides closed. */
  onReset: () => void = () => undefined;
  private localClosed = false;
  remoteClosed = false;

  constructor(
    readonly id: number,
    readonly headers: ReadonlyMap<string, readonly string[]>,
    private readonly session: SpdySession,
  ) {}

  header(name: string): string | undefined {
    return this.headers.get(name.toLowerCase())?.[0];
  }

  /** Sends data; false when the connection's buffer is full (wait on `session.drained()`). */
  write(data: Buffer): boolean {
    if (this.localClosed) return true;
    let ok = true;
    for (let at = 0; at < data.length; at += maxDataFrame)
      ok = this.session.send(encodeData(this.id, data.subarray(at, at + maxDataFrame), false));
    return ok;
  }

  /** Half-closes this side (FIN); the stream is done once the client has closed too. */
  end(): void {
    if (this.localClosed) return;
    this.localClosed = true;
    this.session.send(encodeData(this.id, Buffer.alloc(0), true));
    if (this.remoteClosed) this.session.forget(this.id);
  }

  /** Abandons the stream (RST_STREAM CANCEL). */
  reset(): void {
    if (!this.session.forget(this.id)) return;
    this.localClosed = true;
    this.session.send(encodeRstStream(this.id, rstStatus.cancel));
  }

  get done(): boolean {
    return this.localClosed && this.remoteClosed;
  }
}

export class SpdySession {
  private readonly streams = new Map<number, SpdyStream>();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private lastStreamId = 0;
  private closed = false;
  /** The one pending wait for the socket's next drain, while any writer waits. */
  private drainWait: Promise<void> | undefined;
  /** Resolves once the session is over (the client left or `close` was called). */
  readonly finished: Promise<void>;

  constructor(
    private readonly socket: Duplex,
    private readonly onStream: (stream: SpdyStream) => void,
  ) {
    this.finished = this.readLoop().finally(() => this.teardown());
    socket.on("error", () => this.teardown());
  }

  /** Writes one frame; false when the socket's buffer is full. */
  send(frame: Buffer): boolean {
    if (this.closed || !this.socket.writable) return true;
    return this.socket.write(frame);
  }

  /**
   * Resolves when the socket can take more (at once if it can now). Every writer waiting for the
   * same drain shares one wait, resolved in the order they asked: a listener per waiting chunk
   * would pile up on the socket with many forwarded connections (Node warns past ten).
   */
  drained(): Promise<void> {
    if (this.closed || !this.socket.writableNeedDrain) return Promise.resolve();
    this.drainWait ??= new Promise((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        this.drainWait = undefined;
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
    return this.drainWait;
  }

  /** Removes a stream; false when it was already gone. */
  forget(id: number): boolean {
    return this.streams.delete(id);
  }

  /** Says GOAWAY and ends the connection; open streams are reset. */
  close(): void {
    if (this.closed) return;
    this.send(encodeGoaway(this.lastStreamId));
    this.socket.end();
    this.teardown();
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.decompressor.close();
    const open = [...this.streams.values()];
    this.streams.clear();
    for (const s of open) s.onReset();
    if (!this.socket.destroyed) this.socket.end();
  }

  private async readLoop(): Promise<void> {
    const reader = new FrameReader();
    try {
      for await (const chunk of this.socket) {
        for (const frame of reader.push(chunk as Buffer)) {
          if (this.closed) return;
          await this.handle(frame);
        }
      }
    } catch (err) {
      // A malformed session is ended for good: GOAWAY with PROTOCOL_ERROR, as spdystream does.
      if (err instanceof SpdyProtocolError) this.send(encodeGoaway(this.lastStreamId, 1));
    }
  }

  private async handle(frame: SpdyFrame): Promise<void> {
    if (frame.kind === "data") {
      const stream = this.streams.get(frame.streamId);
      if (!stream || stream.remoteClosed) return;
      if (frame.data.length > 0) await stream.onData(frame.data);
      if (frame.fin) this.remoteFin(stream);
      return;
    }
    switch (frame.type) {
      case frameType.synStream: {
        if (frame.payload.length < 10) throw new SpdyProtocolError("SYN_STREAM is truncated");
        const id = frame.streamId;
        // Client streams are odd and increasing; anything else is refused as spdystream does.
        if (id % 2 !== 1 || id <= this.lastStreamId) {
          this.send(encodeRstStream(id, rstStatus.protocolError));
          return;
        }
        this.lastStreamId = id;
        const headers = decodeHeaderBlock(await this.decompressor.decompress(frame.payload.subarray(10)));
        const stream = new SpdyStream(id, headers, this);
        this.streams.set(id, stream);
        this.send(encodeSynReply(id, this.compressor.compress(encodeHeaderBlock({})), false));
        this.onStream(stream);
        if (frame.flags & flagFin) this.remoteFin(stream);
        return;
      }
      case frameType.headers:
        // Header blocks share the compression context: inflate to keep it in step, then ignore.
        if (frame.payload.length > 4) await this.decompressor.decompress(frame.payload.subarray(4));
        return;
      case frameType.rstStream: {
        const stream = this.streams.get(frame.streamId);
        if (stream && this.forget(frame.streamId)) stream.onReset();
        return;
      }
      case frameType.ping:
        // The client's pings (odd ids) come back unchanged; kubectl sends one every 10s.
        if (frame.payload.length >= 4) this.send(encodePing(frame.payload.readUInt32BE(0)));
        return;
      case frameType.goaway:
        this.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and unknown control frames: spdystream keeps no windows either.
        return;
    }
  }

  private remoteFin(stream: SpdyStream): void {
    stream.remoteClosed = true;
    if (stream.done) this.forget(stream.id);
    stream.onEnd();
  }
}
