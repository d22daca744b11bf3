import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type HealthCheck, serveHealth } from "./health.js";

describe("health endpoints", () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((r) => server?.close(r));
  });

  async function get(checks: Record<string, HealthCheck>, verbose: boolean) {
    server = createServer((_req, res) => void serveHealth(res, "readyz", checks, verbose));
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
    return { status: res.status, text: await res.text() };
  }

  it("says ok when every check passes, and lists them with ?verbose", async () => {
    expect(await get({ etcd: async () => {} }, false)).toEqual({ status: 200, text: "ok" });
    expect(await get({ etcd: async () => {} }, true)).toEqual({
      status: 200,
      text: "[+]ping ok\n[+]etcd ok\nreadyz check passed\n",
    });
  });

  it("answers 500 naming the failed check, with the reason withheld", async () => {
    const res = await get({ etcd: () => Promise.reject(new Error("connection refused 10.0.0.5")) }, false);
    expect(res).toEqual({
      status: 500,
      text: "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n",
    });
  });
});
