import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HealthCheckServer } from "./health-check-server.js";
import type { EndpointsInput, ServiceInput } from "./inputs.js";

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function lb(port: number, policy = "Local"): ServiceInput {
  return {
    metadata: { namespace: "shop", name: "web" },
    spec: {
      type: "LoadBalancer",
      externalTrafficPolicy: policy,
      healthCheckNodePort: port,
      ports: [{ port: 80 }],
    },
  };
}

function eps(...nodes: string[]): EndpointsInput {
  return {
    metadata: { namespace: "shop", name: "web" },
    subsets: [
      { addresses: nodes.map((n, i) => ({ ip: `10.244.0.${i + 2}`, nodeName: n })), ports: [{ port: 80 }] },
    ],
  };
}

async function probe(port: number): Promise<{ status: number; body: unknown } | "refused"> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return { status: res.status, body: await res.json() };
  } catch {
    return "refused";
  }
}

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (let i = 0; ; i++) {
    const v = await f();
    if (ok(v) || i === 100) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("HealthCheckServer", () => {
  let server: HealthCheckServer | undefined;
  afterEach(async () => {
    await server?.stop();
  });

  it("answers 200 with the count of this node's ready endpoints, 503 with none", async () => {
    const port = await freePort();
    server = new HealthCheckServer({ nodeName: "n1", host: "127.0.0.1" });
    server.setEndpoints(eps("n1", "n2", "n1"));
    server.setService(lb(port));
    expect(
      await until(
        () => probe(port),
        (v) => v !== "refused",
      ),
    ).toEqual({
      status: 200,
      body: { service: { namespace: "shop", name: "web" }, localEndpoints: 2, serviceProxyHealthy: true },
    });
    server.setEndpoints(eps("n2"));
    expect(await probe(port)).toMatchObject({ status: 503, body: { localEndpoints: 0 } });
    server.deleteEndpoints(eps());
    expect(await probe(port)).toMatchObject({ status: 503, body: { localEndpoints: 0 } });
  });

  it("closes the port when the Service turns to the Cluster policy or goes, and follows a moved port", async () => {
    const [a, b] = [await freePort(), await freePort()];
    server = new HealthCheckServer({ nodeName: "n1", host: "127.0.0.1" });
    server.setService(lb(a));
    expect(
      await until(
        () => probe(a),
        (v) => v !== "refused",
      ),
    ).toMatchObject({ status: 503 });
    server.setService(lb(b));
    expect(
      await until(
        () => probe(a),
        (v) => v === "refused",
      ),
    ).toBe("refused");
    expect(
      await until(
        () => probe(b),
        (v) => v !== "refused",
      ),
    ).toMatchObject({ status: 503 });
    server.setService(lb(b, "Cluster"));
    expect(
      await until(
        () => probe(b),
        (v) => v === "refused",
      ),
    ).toBe("refused");
    expect(server.ports()).toEqual(new Map());
    server.setService(lb(b));
    expect(server.ports()).toEqual(new Map([[b, "shop/web"]]));
    server.deleteService(lb(b));
    expect(server.ports()).toEqual(new Map());
  });

  it("reports a port it cannot listen on, naming the Service and port", async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as { port: number }).port;
    const errors: Error[] = [];
    server = new HealthCheckServer({ nodeName: "n1", host: "127.0.0.1", onError: (e) => errors.push(e) });
    server.setService(lb(port));
    await until(
      async () => errors.length,
      (n) => n > 0,
    );
    await new Promise((r) => taken.close(r));
    expect(errors[0]?.message).toMatch(
      new RegExp(`health check of Service shop/web: port ${port}: .*EADDRINUSE`),
    );
    expect(server.ports()).toEqual(new Map());
  });

  it("refuses a config without a node name", () => {
    expect(() => new HealthCheckServer({ nodeName: "" })).toThrow(/config nodeName: empty/);
  });
});
