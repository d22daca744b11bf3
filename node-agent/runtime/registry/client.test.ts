/**
 * Unit tests of the client against hostile fake registries on port 0: a blob longer than its
 * descriptor, a redirect to another host, and a mirror fishing for the registry's credentials.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { RegistryClient } from "./client.js";
import { RegistryError } from "./errors.js";

const servers: Server[] = [];

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("RegistryClient", () => {
  it("stops reading a blob as soon as it runs past its descriptor's size", async () => {
    let sent = 0;
    const host = await serve((_req, res) => {
      res.writeHead(200);
      // An endless body: a registry trying to fill the node's disk.
      const push = () => {
        while (sent < 64 << 20 && res.write(Buffer.alloc(64 << 10))) sent += 64 << 10;
        if (sent < 64 << 20) res.once("drain", push);
        else res.end();
      };
      push();
    });
    const client = new RegistryClient(host, "team/app");
    let received = 0;
    const err = await (async () => {
      for await (const chunk of client.openBlob({ mediaType: "x", digest: DIGEST, size: 1000 })) {
        received += (chunk as Buffer).length;
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ code: "TooLarge", reference: DIGEST });
    expect((err as Error).message).toContain("more than the 1000 bytes its descriptor says");
    expect(received).toBeLessThanOrEqual(1000 + (64 << 10));
  });

  it("resumes a blob whose body stalls, from the byte it reached", async () => {
    const content = Buffer.from("x".repeat(100) + "y".repeat(100));
    const ranges: (string | undefined)[] = [];
    const host = await serve((req, res) => {
      ranges.push(req.headers.range);
      if (req.headers.range === undefined) {
        res.writeHead(200, { "Content-Length": "200" });
        res.write(content.subarray(0, 100)); // and then nothing: a stalled connection
        return;
      }
      const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range)![1]);
      res.writeHead(206, { "Content-Range": `bytes ${from}-199/200` }).end(content.subarray(from));
    });
    const client = new RegistryClient(host, "team/app", { idleTimeoutMs: 200 });
    const chunks: Buffer[] = [];
    for await (const c of client.openBlob({ mediaType: "x", digest: DIGEST, size: 200 }))
      chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
    expect(ranges).toEqual([undefined, "bytes=100-"]);
  });

  it("follows a blob redirect to another host without the registry's credentials", async () => {
    const seen: (string | undefined)[] = [];
    const storage = await serve((req, res) => {
      seen.push(req.headers.authorization);
      res.end("abc");
    });
    const host = await serve((req, res) => {
      if (req.headers.authorization === undefined) {
        res.writeHead(401, { "WWW-Authenticate": 'Basic realm="r"' }).end();
        return;
      }
      res.writeHead(307, { Location: `http://${storage}/bucket/blob?sig=1` }).end();
    });
    const client = new RegistryClient(host, "team/app", {
      credentials: () => ({ username: "alice", password: "secret" }),
    });
    const chunks: Buffer[] = [];
    for await (const c of client.openBlob({ mediaType: "x", digest: DIGEST, size: 3 }))
      chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe("abc");
    expect(seen).toEqual([undefined]);
  });

  it("never sends the registry's credentials to its mirror", async () => {
    const mirrorSaw: (string | undefined)[] = [];
    const mirror = await serve((req, res) => {
      mirrorSaw.push(req.headers.authorization);
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="give me your password"' }).end();
    });
    const upstream = await serve((_req, res) => {
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
    });
    const client = new RegistryClient(upstream, "team/app", {
      config: { hosts: { [upstream]: { mirrors: [`http://${mirror}`] } } },
      credentials: (registry) =>
        registry === upstream ? { username: "alice", password: "secret" } : undefined,
    });
    await expect(client.getManifest("v1")).rejects.toMatchObject({ code: "NotFound", registry: upstream });
    expect(mirrorSaw.filter((a) => a !== undefined)).toEqual([]);
  });
});
