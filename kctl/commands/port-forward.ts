/**
 * `kctl port-forward POD [LOCAL:]REMOTE...`: listens on 127.0.0.1:LOCAL (0 or empty: any free port)
 * and carries each connection to localhost:REMOTE inside the pod's network namespace, until
 * interrupted. Each connection is one pods/portforward WebSocket in the channel form
 * (`v4.channel.k8s.io`, ?ports=REMOTE): channel 0 data, channel 1 errors, the first message of
 * each being the port. Reading from either side waits until the other took the last chunk.
 */
import { createServer, type Server, type Socket } from "node:net";
import { resourceForKind } from "../../foundation/api/resources.js";
import { ChannelSocket } from "../channel-socket.js";
import { type ApiClient, resourcePath } from "../client.js";
import type { Command, CommandContext } from "../command.js";
import { namespaceFlag } from "../common-flags.js";
import { UsageError } from "../errors.js";
import { namespaceFlagValue, podNameArg } from "../targets.js";

const pods = resourceForKind("v1", "Pod")!;

export interface PortPair {
  local: number;
  remote: number;
}

/** Parses `REMOTE`, `LOCAL:REMOTE` or `:REMOTE` as kubectl does; names the bad argument. */
export function parsePortPair(arg: string): PortPair {
  const m = /^(?:(\d*):)?(\d+)$/.exec(arg);
  const local = m ? (m[1] === undefined ? Number(m[2]) : m[1] === "" ? 0 : Number(m[1])) : Number.NaN;
  const remote = m ? Number(m[2]) : Number.NaN;
  if (!(local >= 0 && local <= 65535) || !(remote >= 1 && remote <= 65535))
    throw new UsageError(
      `port-forward: invalid port specification "${arg}": want [LOCAL:]REMOTE, ports 1-65535 (LOCAL 0: any)`,
    );
  return { local, remote };
}

export const portForwardCommand: Command = {
  usage: "kctl port-forward POD [LOCAL:]REMOTE [...] [-n NS]   (LOCAL 0 or empty: any free port)",
  flags: [namespaceFlag],
  async run(ctx) {
    const [name, ...specs] = ctx.positionals;
    if (!name || specs.length === 0)
      throw new UsageError(
        "kctl port-forward needs a pod and at least one port: kctl port-forward POD 8080:80",
      );
    const pairs = specs.map(parsePortPair);
    const podName = podNameArg(name);
    const { client, access } = await ctx.connect();
    const ns = namespaceFlagValue(ctx.flags, access.namespace);
    // Fails early, as kubectl does, for a pod that is missing or not running.
    const pod = (await client.get(pods, ns, podName)) as { status?: { phase?: string } };
    if (pod.status?.phase !== "Running")
      throw new UsageError(
        `unable to forward port because pod is not running. Current status=${pod.status?.phase ?? "Unknown"}`,
      );
    const servers: Server[] = [];
    try {
      for (const pair of pairs) {
        const server = createServer({ allowHalfOpen: true }, (conn) =>
          forward(ctx, client, resourcePath(pods, ns, podName, "portforward"), pair, conn),
        );
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(pair.local, "127.0.0.1", resolve);
        });
        servers.push(server);
        const port = (server.address() as { port: number }).port;
        ctx.io.stdout.write(`Forwarding from 127.0.0.1:${port} -> ${pair.remote}\n`);
      }
      await new Promise<void>((resolve) => {
        if (ctx.io.signal.aborted) resolve();
        ctx.io.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      return 0;
    } finally {
      for (const s of servers) s.close();
    }
  },
};

function forward(ctx: CommandContext, client: ApiClient, path: string, pair: PortPair, conn: Socket): void {
  conn.pause();
  conn.on("error", () => undefined);
  void client
    .openWebSocket(path, { ports: String(pair.remote) }, ["v4.channel.k8s.io"])
    .then((ws) => {
      const socket = new ChannelSocket(ws);
      const seenPort = [false, false];
      socket.onMessage((ch, data) => {
        if (ch > 1) return;
        // The first message of each channel is the port (2 bytes, little-endian), not data.
        if (!seenPort[ch]) {
          seenPort[ch] = true;
          return;
        }
        if (ch === 1) {
          ctx.io.stderr.write(
            `error: an error occurred forwarding ${conn.localPort} -> ${pair.remote}: ${data}\n`,
          );
          return;
        }
        if (!conn.write(data)) {
          socket.pause();
          conn.once("drain", () => socket.resume());
        }
      });
      conn.on("data", (chunk: Buffer) => {
        conn.pause();
        void socket.send(0, chunk).then(() => conn.resume());
      });
      conn.on("close", () => socket.close());
      void socket.closed.then(() => conn.end());
      conn.resume();
    })
    .catch((err: Error) => {
      ctx.io.stderr.write(`error: ${err.message}\n`);
      conn.destroy();
    });
}
