import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../controlplane/etcd/etcd-process.js";
import { ApiClient } from "./client.js";
import { readConfig, writeConfig } from "./config.js";

describe("a client with several servers", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  const live = async (): Promise<string> => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ method: req.method, body }));
      });
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  const client = (servers: string[]) =>
    new ApiClient({
      server: servers[0]!,
      servers,
      insecureSkipTlsVerify: false,
      namespace: "default",
      path: "/test/config",
    });

  it("moves to the next server when one refuses connections, and stays there", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const up = await live();
    const c = client([dead, up]);
    try {
      expect(await c.request("GET", "/api")).toEqual({ method: "GET", body: "" });
      expect(c.server).toBe(up);
      // A write is replayed too: a refused connection never reached the server.
      expect(await c.request("POST", "/api", { body: { a: 1 } })).toEqual({
        method: "POST",
        body: '{"a":1}',
      });
    } finally {
      c.close();
    }
  });

  it("names the config and the other servers when none can be reached", async () => {
    const c = client([`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`]);
    try {
      await expect(c.request("GET", "/api")).rejects.toThrow();
      await expect(c.request("GET", "/api")).rejects.toThrow(
        /from \/test\/config\) and the 1 other\(s\) it lists/,
      );
    } finally {
      c.close();
    }
  });

  it("keeps every server in the kubeconfig, in an extension stock kubectl ignores", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kctl-servers-"));
    try {
      const path = join(dir, "config");
      await writeConfig(path, {
        server: "https://10.0.0.5:6443",
        otherServers: ["https://10.0.0.6:6443", "https://10.0.0.5:6443", "https://10.0.0.7:6443"],
        token: "t",
      });
      const access = await readConfig(path);
      expect(access.server).toBe("https://10.0.0.5:6443");
      expect(access.servers).toEqual([
        "https://10.0.0.5:6443",
        "https://10.0.0.6:6443",
        "https://10.0.0.7:6443",
      ]);
      await writeConfig(path, { server: "https://10.0.0.5:6443", token: "t" });
      expect((await readConfig(path)).servers).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
