/**
 * A TCP proxy to a local port for tests that cut connections: each connection is forwarded until
 * the bytes it carried back from the target pass `cutAfter`; then, for the first `cuts`
 * connections that do, `onCut` runs (a test kills the registry there) and both sides are destroyed.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface CuttingProxy {
  port: number;
  /** Connections cut so far. */
  cut: number;
  close(): Promise<void>;
}

export async function startCuttingProxy(options: {
  targetPort: number;
  cutAfter: number;
  cuts: number;
  onCut?: () => Promise<void>;
}): Promise<CuttingProxy> {
  const sockets = new Set<Socket>();
  const proxy: CuttingProxy = { port: 0, cut: 0, close: async () => undefined };
  const server: Server = createServer((client) => {
    const upstream = connect(options.targetPort, "127.0.0.1");
    sockets.add(client).add(upstream);
    let carried = 0;
    let cutting = false;
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      if (cutting) return;
      carried += chunk.length;
      if (carried > options.cutAfter && proxy.cut < options.cuts) {
        cutting = true;
        proxy.cut++;
        upstream.pause();
        void (options.onCut?.() ?? Promise.resolve()).finally(end);
        return;
      }
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.port = (server.address() as { port: number }).port;
  proxy.close = () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return proxy;
}
