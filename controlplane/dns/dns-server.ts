/**
 * The cluster DNS's sockets: one UDP socket and one TCP listener on the same address and port,
 * each message handed to a `Responder`. TCP carries DNS's two-byte length framing (RFC 1035 4.2.2)
 * and serves clients that retry there after a truncated UDP answer. Counts replies by protocol and
 * response code in Prometheus.
 */
import dgram from "node:dgram";
import net from "node:net";
import { Counter, type Registry } from "prom-client";
import { tracer } from "../../foundation/util/trace.js";
import type { Responder } from "./dns-messages.js";

const trace = tracer("dns");

/** A TCP client that sends nothing for this long is dropped. */
const tcpIdleMs = 10_000;
/** Attempts at finding a port free for both UDP and TCP when asked for port 0. */
const portAttempts = 8;

export interface DnsServerOptions {
  responder: Responder;
  address: string;
  /** 0 picks a free port (the same for UDP and TCP). */
  port: number;
  metrics?: Registry;
}

export interface RunningDnsServer {
  address: string;
  port: number;
  /** Stops both sockets and drops open TCP connections. */
  close(): Promise<void>;
}

/** Thrown when the sockets cannot be bound; names the address, port and protocol. */
export class DnsBindError extends Error {
  constructor(address: string, port: number, protocol: string, cause: Error) {
    super(`cluster DNS cannot listen on ${protocol} ${address}:${port}: ${cause.message}`, { cause });
    this.name = "DnsBindError";
  }
}

const countersByRegistry = new WeakMap<Registry, Counter<"protocol" | "rcode">>();

function repliesCounter(registry: Registry | undefined): Counter<"protocol" | "rcode"> | undefined {
  if (!registry) return undefined;
  let counter = countersByRegistry.get(registry);
  if (!counter) {
    counter = new Counter({
      name: "kctl_dns_responses_total",
      help: "Cluster DNS responses, by protocol (udp, tcp) and response code.",
      labelNames: ["protocol", "rcode"],
      registers: [registry],
    });
    countersByRegistry.set(registry, counter);
  }
  return counter;
}

export async function startDnsServer(opts: DnsServerOptions): Promise<RunningDnsServer> {
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new RangeError(`cluster DNS option port: ${opts.port} is not a port number (0-65535)`);
  }
  const replies = repliesCounter(opts.metrics);
  for (let attempt = 1; ; attempt++) {
    const udp = await bindUdp(opts);
    const port = udp.address().port;
    try {
      const tcp = await bindTcp(opts, port);
      return running(opts.address, port, udp, tcp);
    } catch (err) {
      udp.close();
      // Port 0 gave a UDP port whose TCP twin is taken: try another.
      if (opts.port !== 0 || attempt >= portAttempts) throw err;
    }
  }

  function bindUdp(o: DnsServerOptions): Promise<dgram.Socket> {
    const family = net.isIPv6(o.address) ? "udp6" : "udp4";
    const socket = dgram.createSocket(family);
    return new Promise((resolve, reject) => {
      socket.once("error", (err) => reject(new DnsBindError(o.address, o.port, "UDP", err)));
      socket.bind(o.port, o.address, () => {
        socket.removeAllListeners("error");
        socket.on("error", (err) => trace("udp socket error", err.message));
        socket.on("message", (msg, rinfo) => {
          const reply = o.responder.respond(msg, true);
          replies?.inc({ protocol: "udp", rcode: reply.rcode });
          if (reply.message) socket.send(reply.message, rinfo.port, rinfo.address);
        });
        resolve(socket);
      });
    });
  }

  function bindTcp(o: DnsServerOptions, port: number): Promise<net.Server> {
    const server = net.createServer((conn) => serveTcp(conn, o.responder));
    return new Promise((resolve, reject) => {
      server.once("error", (err) => reject(new DnsBindError(o.address, port, "TCP", err)));
      server.listen(port, o.address, () => {
        server.removeAllListeners("error");
        server.on("error", (err) => trace("tcp listener error", err.message));
        resolve(server);
      });
    });
  }

  function serveTcp(conn: net.Socket, responder: Responder): void {
    let pending = Buffer.alloc(0);
    conn.setTimeout(tcpIdleMs, () => conn.destroy());
    conn.on("error", (err) => trace("tcp connection error", err.message));
    conn.on("data", (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const reply = responder.respond(pending.subarray(2, 2 + length), false);
        pending = pending.subarray(2 + length);
        replies?.inc({ protocol: "tcp", rcode: reply.rcode });
        if (!reply.message) continue;
        const frame = Buffer.alloc(2);
        frame.writeUInt16BE(reply.message.length);
        conn.write(Buffer.concat([frame, reply.message]));
      }
    });
  }
}

function running(address: string, port: number, udp: dgram.Socket, tcp: net.Server): RunningDnsServer {
  const connections = new Set<net.Socket>();
  tcp.on("connection", (c) => {
    connections.add(c);
    c.on("close", () => connections.delete(c));
  });
  return {
    address,
    port,
    close: async () => {
      for (const c of connections) c.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}
