import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Registry } from "../registry/index.js";
import { type ApiServer, startApiServer } from "./server.js";

/** A raw GET: fetch() would normalise the dot segments an attacker sends. */
function get(url: string, path: string, method = "GET") {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((ok, fail) => {
    const req = request(`${url}${path}`, { method, path }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => ok({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", fail);
    req.end();
  });
}

describe("the dashboard's static files under /ui/", () => {
  let root: string;
  let server: ApiServer;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ui-static-"));
    await mkdir(join(root, "ui", "assets"), { recursive: true });
    await writeFile(join(root, "ui", "index.html"), "<!doctype html><title>kctl</title>");
    await writeFile(join(root, "ui", "assets", "app-1a2b.js"), "console.log(1)");
    await writeFile(join(root, "secret.txt"), "outside the ui directory");
    // No registry calls happen on these paths; the store is never reached.
    server = await startApiServer({
      registry: {} as Registry,
      port: 0,
      authenticate: () => undefined,
      uiDir: join(root, "ui"),
    });
  });
  afterEach(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it("serves index.html without a token, to be revalidated, with a strict content policy", async () => {
    const res = await get(server.url, "/ui/");
    expect(res.status).toBe(200);
    expect(res.body).toContain("<title>kctl</title>");
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["cache-control"]).toBe("no-cache");
    expect(res.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(res.headers["x-frame-options"]).toBe("DENY");
    expect((await get(server.url, "/ui")).headers.location).toBe("/ui/");
  });

  it("lets browsers keep hashed assets for a year", async () => {
    const res = await get(server.url, "/ui/assets/app-1a2b.js");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(res.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    const head = await get(server.url, "/ui/assets/app-1a2b.js", "HEAD");
    expect([head.status, head.body]).toEqual([200, ""]);
  });

  it("answers 404 for a missing file and 405 for a write", async () => {
    const missing = await get(server.url, "/ui/nope.js");
    expect(missing.status).toBe(404);
    expect(missing.body).toContain("the dashboard has no file /ui/nope.js");
    expect((await get(server.url, "/ui/assets/app-1a2b.js", "POST")).status).toBe(405);
  });

  it("never reads a file outside its directory, however the way out is spelled", async () => {
    for (const path of [
      "/ui/..%2fsecret.txt",
      "/ui/%2e%2e%2fsecret.txt",
      "/ui/assets/..%2f..%2fsecret.txt",
      `/ui/${encodeURIComponent(join(root, "secret.txt"))}`,
      "/ui/../secret.txt",
    ]) {
      const res = await get(server.url, path);
      expect(res.body, path).not.toContain("outside the ui directory");
      expect(res.status, path).not.toBe(200);
    }
  });

  it("is not served when no directory is given", async () => {
    const bare = await startApiServer({ registry: {} as Registry, port: 0, authenticate: () => undefined });
    try {
      expect((await get(bare.url, "/ui/")).status).toBe(401);
    } finally {
      await bare.close();
    }
  });
});
