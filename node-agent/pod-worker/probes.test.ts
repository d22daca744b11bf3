import { createServer as createHttpServer, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Container } from "../../proto/gen/api.js";
import { type ProbeTarget, resolvePort, runProbe } from "./probes.js";

const servers: { close(): unknown }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

const target = (container: Container = { name: "main" }, exitCode = 0): ProbeTarget => ({
  podIP: "127.0.0.1",
  container,
  exec: async () => exitCode,
});

describe("runProbe", () => {
  it("passes an httpGet probe on 2xx/3xx, fails it on other codes, with the path and headers asked", async () => {
    const seen: string[] = [];
    const port = await listen(
      createHttpServer((req, res) => {
        seen.push(`${req.url} ${req.headers["x-probe"]}`);
        res.writeHead(req.url === "/bad" ? 500 : 302).end();
      }),
    );
    const headers = [{ name: "X-Probe", value: "yes" }];
    expect(await runProbe({ httpGet: { path: "/ok", port, httpHeaders: headers } }, target())).toEqual({
      ok: true,
    });
    expect(await runProbe({ httpGet: { path: "/bad", port } }, target())).toEqual({
      ok: false,
      message: "HTTP probe failed with statuscode: 500",
    });
    expect(seen).toEqual(["/ok yes", "/bad undefined"]);
  });

  it("resolves a named port through the container's ports, and fails naming a port it lacks", async () => {
    const port = await listen(createHttpServer((_req, res) => res.writeHead(200).end()));
    const container = { name: "main", ports: [{ name: "http", containerPort: port }] };
    expect(await runProbe({ httpGet: { port: "http" } }, target(container))).toEqual({ ok: true });
    expect(resolvePort("8080", container)).toBe(8080);
    expect(await runProbe({ httpGet: { port: "admin" } }, target(container))).toEqual({
      ok: false,
      message: 'port "admin" is not a port of container "main"',
    });
  });

  it("passes a tcpSocket probe when the port accepts, and fails it when nothing listens", async () => {
    const server = createTcpServer((s) => s.destroy());
    const port = await listen(server);
    expect(await runProbe({ tcpSocket: { port } }, target())).toEqual({ ok: true });
    server.close();
    const closed = await runProbe({ tcpSocket: { port } }, target());
    expect(closed.ok).toBe(false);
    expect(!closed.ok && closed.message).toMatch(new RegExp(`^dial tcp 127.0.0.1:${port}: .*ECONNREFUSED`));
  });

  it("passes an exec probe on exit code 0 only, and refuses a probe without a handler", async () => {
    expect(await runProbe({ exec: { command: ["true"] } }, target())).toEqual({ ok: true });
    expect(await runProbe({ exec: { command: ["false"] } }, target({ name: "main" }, 1))).toEqual({
      ok: false,
      message: "command exited with 1",
    });
    expect(await runProbe({ periodSeconds: 1 }, target())).toEqual({
      ok: false,
      message: "probe has no handler (exec, httpGet or tcpSocket)",
    });
  });
});
