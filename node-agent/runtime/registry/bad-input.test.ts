/**
 * Pulls that must fail with a one-line typed reason and leave the image store as it was: unknown
 * repository and tag, content that does not match its digest, a registry answering 500, one that
 * never answers, a layer over the size limit, and the registry killed mid-download (after which a
 * pull from the restarted registry succeeds); a connection cut once mid-blob is resumed. Real
 * registry (Debian's docker-registry); root, because the store unpacks layers.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeScratchDir, removeScratchDir } from "../../network/testing/scratch-linux.js";
import { ImageError } from "../images/errors.js";
import { ImageStore } from "../images/image-store.js";
import { RegistryError } from "./errors.js";
import { type RegistryServer, skopeoCopy, startRegistry } from "./testing/registry-server.js";
import { startCuttingProxy } from "./testing/tcp-proxy.js";
import { type BuiltImage, writeImageLayout } from "./testing/test-images.js";

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("pulls that fail keep nothing (root)", () => {
  let scratch: string;
  let registry: RegistryServer;
  let store: ImageStore;
  let big: BuiltImage;
  const cleanups: (() => Promise<void>)[] = [];

  /** Everything in the store that a failed pull must not change. */
  const snapshot = () => ({
    blobs: readdirSync(join(store.dir, "blobs", "sha256")).sort(),
    layers: readdirSync(join(store.dir, "layers")).sort(),
    refs: store.list(),
  });
  const expectUnchanged = async (before: ReturnType<typeof snapshot>) => {
    const after = snapshot();
    expect(after.blobs).toEqual(before.blobs);
    expect(after.layers).toEqual(before.layers);
    expect(await after.refs).toEqual(await before.refs);
  };
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e as Error,
    );

  beforeAll(async () => {
    scratch = makeScratchDir("kctl-registry-bad");
    registry = await startRegistry({ dir: join(scratch, "registry") });
    cleanups.push(() => registry.stop());
    store = new ImageStore(join(scratch, "state"));
    const small = join(scratch, "small");
    writeImageLayout(small, "v1", { layers: [{ "etc/small": "s\n" }] });
    await skopeoCopy(small, "v1", `${registry.host}/team/small:v1`);
    await store.pull(`${registry.host}/team/small:v1`);
    // Random bytes do not compress: an 8 MiB layer takes many reads to arrive.
    big = writeImageLayout(join(scratch, "big"), "v1", {
      layers: [{ "etc/base": "b\n" }, { "data/blob.bin": randomBytes(8 << 20) }],
    });
    await skopeoCopy(join(scratch, "big"), "v1", `${registry.host}/team/big:v1`);
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    removeScratchDir(scratch);
  });

  it("names an unknown repository and an unknown tag with the registry's code", async () => {
    const before = snapshot();
    const repo = await failure(store.pull(`${registry.host}/team/nothere:v1`));
    expect(repo).toBeInstanceOf(RegistryError);
    expect(repo).toMatchObject({
      code: "NotFound",
      status: 404,
      // distribution 2.8 answers MANIFEST_UNKNOWN, not NAME_UNKNOWN, for a repository it never saw.
      registryCode: "MANIFEST_UNKNOWN",
      registry: registry.host,
      repository: "team/nothere",
      reference: "v1",
    });
    const tag = await failure(store.pull(`${registry.host}/team/small:v9`));
    expect(tag).toMatchObject({ code: "NotFound", registryCode: "MANIFEST_UNKNOWN", reference: "v9" });
    expect(tag!.message).toBe(
      `GET ${registry.host}/team/small:v9 at http://${registry.host}/v2/team/small/manifests/v9: HTTP 404 MANIFEST_UNKNOWN: manifest unknown`,
    );
    await expectUnchanged(before);
  });

  it("refuses a layer and a manifest whose content does not match their digests", async () => {
    const layout = join(scratch, "tampered");
    const built = writeImageLayout(layout, "v1", {
      layers: [{ "etc/ok": "ok\n" }, { "etc/evil": "evil\n" }],
    });
    await skopeoCopy(layout, "v1", `${registry.host}/team/tampered:v1`);
    const stored = (digest: string) =>
      join(
        scratch,
        "registry/data/docker/registry/v2/blobs/sha256",
        digest.slice(7, 9),
        digest.slice(7),
        "data",
      );
    // The registry serves what its storage holds; an attacker on the storage (or the wire) changes it.
    writeFileSync(stored(built.layers[1]!.digest), Buffer.alloc(built.layers[1]!.size, 7));
    const before = snapshot();
    const layer = await failure(store.pull(`${registry.host}/team/tampered:v1`));
    expect(layer).toBeInstanceOf(ImageError);
    expect(layer).toMatchObject({ code: "DigestMismatch" });
    expect(layer!.message).toContain(
      `blob ${built.layers[1]!.digest} from http://${registry.host}/v2/team/tampered/blobs/${built.layers[1]!.digest}`,
    );
    await expectUnchanged(before);
    expect(readdirSync(join(store.dir, "blobs", "sha256")).filter((n) => n.startsWith(".tmp"))).toEqual([]);

    writeFileSync(stored(built.manifest.digest), `{"schemaVersion":2,"layers":[]}${" ".repeat(10)}`);
    const manifest = await failure(store.pull(`${registry.host}/team/tampered@${built.manifest.digest}`));
    expect(manifest).toMatchObject({ code: "DigestMismatch", reference: built.manifest.digest });
    expect(manifest!.message).toMatch(/manifest content is sha256:[0-9a-f]{64}$/);
    await expectUnchanged(before);
  });

  it("reports a registry answering 500 and one that never answers, in bounded time", async () => {
    const broken = createHttpServer((_req, res) => {
      res.writeHead(500, { "Content-Type": "application/json" });
      res.end('{"errors":[{"code":"UNKNOWN","message":"storage backend down"}]}');
    });
    const held: Socket[] = [];
    const silent = createTcpServer((socket) => held.push(socket));
    for (const s of [broken, silent]) await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    cleanups.push(async () => {
      for (const s of held) s.destroy();
      await new Promise((r) => broken.close(r));
      await new Promise((r) => silent.close(r));
    });
    const port = (s: typeof broken | typeof silent) => (s.address() as { port: number }).port;
    const before = snapshot();

    const e500 = await failure(store.pull(`127.0.0.1:${port(broken)}/team/app:v1`));
    expect(e500).toMatchObject({ code: "Unavailable", status: 500, registryCode: "UNKNOWN" });
    expect(e500!.message).toContain("HTTP 500 UNKNOWN: storage backend down");

    const started = Date.now();
    const hang = await failure(store.pull(`127.0.0.1:${port(silent)}/team/app:v1`, { idleTimeoutMs: 300 }));
    expect(hang).toMatchObject({ code: "Timeout", repository: "team/app" });
    expect(hang!.message).toContain("no answer from the registry for 300 ms");
    expect(Date.now() - started).toBeLessThan(5_000);
    await expectUnchanged(before);
  });

  it("refuses a layer over the size limit before downloading it", async () => {
    const before = snapshot();
    const err = await failure(store.pull(`${registry.host}/team/big:v1`, { maxBlobSize: 1 << 20 }));
    expect(err).toMatchObject({ code: "TooLarge", reference: big.layers[1]!.digest });
    expect(err!.message).toMatch(/blob of \d+ bytes is over the limit of 1048576/);
    expect(
      registry.requests().filter((r) => r.includes(`GET /v2/team/big/blobs/${big.layers[1]!.digest}`)),
    ).toEqual([]);
    await expectUnchanged(before);
  });

  it("resumes a blob download whose connection was cut", async () => {
    const proxy = await startCuttingProxy({ targetPort: registry.port, cutAfter: 2 << 20, cuts: 1 });
    cleanups.push(() => proxy.close());
    const ref = `127.0.0.1:${proxy.port}/team/big:v1`;
    await store.pull(ref);
    expect(proxy.cut).toBe(1);
    const gets = registry
      .requests()
      .filter((r) => r.startsWith(`GET /v2/team/big/blobs/${big.layers[1]!.digest}`));
    expect(gets.map((g) => g.slice(-3))).toEqual(["200", "206"]);
    await store.remove(ref);
  });

  it("keeps nothing when the registry is killed mid-download, and pulls once it is back", async () => {
    const fresh = new ImageStore(join(scratch, "state-kill"));
    const proxy = await startCuttingProxy({
      targetPort: registry.port,
      cutAfter: 2 << 20,
      cuts: 1,
      onCut: () => registry.stop(),
    });
    cleanups.push(() => proxy.close());
    const ref = `127.0.0.1:${proxy.port}/team/big:v1`;
    const err = await failure(fresh.pull(ref));
    expect(err).toBeInstanceOf(RegistryError);
    // Blobs are fetched concurrently: under load a small blob still in flight when the registry
    // dies can fail first, so the error names one of the image's blobs, not always the big one.
    expect(err).toMatchObject({ code: "Unavailable" });
    const blobs = [big.config, ...big.layers].map((b) => b.digest);
    expect(blobs).toContain((err as RegistryError).reference);
    const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
    expect(entries(join(fresh.dir, "blobs", "sha256"))).toEqual([]);
    expect(entries(join(fresh.dir, "layers"))).toEqual([]);
    expect(await fresh.list()).toEqual([]);

    registry = await startRegistry({ dir: join(scratch, "registry"), port: registry.port });
    const pulled = await fresh.pull(ref);
    expect(pulled.manifestDigest).toBe(big.manifest.digest);
    expect((await fresh.resolve(ref)).layers).toHaveLength(2);
  });
});
