/**
 * The SPDY session's write backpressure over a real loopback socket whose client stops reading:
 * many writers waiting on `drained()` at once share one wait on the socket, none is released before
 * the client reads again, and they are released in the order they waited, their frames intact.
 */
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeData, FrameReader } from "./spdy-frames.js";
import { SpdySession } from "./spdy-session.js";

const waiters = 50;
const filler = Buffer.alloc(64 * 1024, 0x61);

describe("SpdySession.drained", () => {
  let server: Server;
  let client: Socket;
  let serverSide: Socket;
  let session: SpdySession;
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);

  beforeEach(async () => {
    warnings.length = 0;
    process.on("warning", onWarning);
    server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const accepted = once(server, "connection");
    client = connect((server.address() as AddressInfo).port, "127.0.0.1");
    client.pause();
    serverSide = (await accepted)[0] as Socket;
    session = new SpdySession(serverSide, () => undefined);
  });
  afterEach(async () => {
    process.off("warning", onWarning);
    client.destroy();
    serverSide.destroy();
    server.close();
    await session.finished;
  });

  /** Writes until the socket says its buffer is full (the client reads nothing meanwhile). */
  function fill(): number {
    let frames = 1;
    while (session.send(encodeData(1, filler, false))) frames++;
    return frames;
  }

  it("keeps one listener for many waiting writers and releases them in order once the client reads", async () => {
    const drainListeners = serverSide.listenerCount("drain");
    const closeListeners = serverSide.listenerCount("close");
    const filled = fill();
    const released: number[] = [];
    const waits: Promise<void>[] = [];
    for (let i = 0; i < waiters; i++) {
      expect(session.send(encodeData(1, Buffer.from(`w${i}`), false))).toBe(false);
      waits.push(session.drained().then(() => void released.push(i)));
    }
    expect(serverSide.listenerCount("drain")).toBe(drainListeners + 1);
    expect(serverSide.listenerCount("close")).toBe(closeListeners + 1);

    // Backpressure holds: with the client not reading, no writer is released.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(released).toEqual([]);

    const reader = new FrameReader();
    const payloads: string[] = [];
    client.on("data", (d: Buffer) => {
      for (const f of reader.push(d)) if (f.kind === "data") payloads.push(f.data.toString());
    });
    client.resume();
    await Promise.all(waits);
    expect(released).toEqual(Array.from({ length: waiters }, (_, i) => i));
    expect(serverSide.listenerCount("drain")).toBe(drainListeners);
    expect(serverSide.listenerCount("close")).toBe(closeListeners);
    while (payloads.length < filled + waiters) await once(client, "data");
    expect(payloads.slice(filled)).toEqual(Array.from({ length: waiters }, (_, i) => `w${i}`));
    expect(warnings.map((w) => w.name)).not.toContain("MaxListenersExceededWarning");

    // Drained: a writer does not wait; a buffer full again makes a new wait.
    await expect(session.drained()).resolves.toBeUndefined();
    client.pause();
    fill();
    const again = session.drained();
    expect(serverSide.listenerCount("drain")).toBe(drainListeners + 1);
    client.resume();
    await again;
  });

  it("releases every waiting writer when the client goes away", async () => {
    fill();
    const waits = Array.from({ length: waiters }, () => session.drained());
    client.destroy();
    await Promise.all(waits);
    await session.finished;
    expect(warnings.map((w) => w.name)).not.toContain("MaxListenersExceededWarning");
  });
});
