/**
 * How the client reaches a real registry (Debian's docker-registry): htpasswd Basic auth, the
 * bearer token flow against `auth: token:` with a test issuer, TLS with a test CA, mirrors, and the
 * plain-HTTP rules. Blobs land in a real blob store, verified by digest; nothing here needs root.
 */

import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeScratchDir, removeScratchDir } from "../../network/testing/scratch-linux.js";
import { BlobStore } from "../images/blob-store.js";
import { RegistryError } from "./errors.js";
import { fetchLayers, openPullSource, type PullOptions } from "./pull-source.js";
import { makeTestCerts, type TestCerts } from "./testing/certs.js";
import {
  htpasswdAuthConfig,
  type RegistryServer,
  skopeoCopy,
  startRegistry,
} from "./testing/registry-server.js";
import { writeImageLayout } from "./testing/test-images.js";
import { startTokenIssuer, type TokenIssuer, tokenAuthConfig } from "./testing/token-issuer.js";

/** Pulls `ref` into a fresh blob store and returns the digests it holds, sorted. */
async function pullBlobs(dir: string, ref: string, options: PullOptions): Promise<string[]> {
  await rm(dir, { recursive: true, force: true });
  const blobs = new BlobStore(dir);
  const source = await openPullSource(ref, options);
  await blobs.ingest(source.manifest, source.fetcher);
  const fetched = await fetchLayers(source, blobs);
  return [source.manifest.digest, ...fetched].sort();
}

describe("registry access", () => {
  let scratch: string;
  let certs: TestCerts;
  let layout: string;
  let built: ReturnType<typeof writeImageLayout>;
  const servers: RegistryServer[] = [];
  let issuer: TokenIssuer | undefined;

  const start = async (name: string, extra: Omit<Parameters<typeof startRegistry>[0], "dir"> = {}) => {
    const server = await startRegistry({ dir: join(scratch, name), ...extra });
    servers.push(server);
    return server;
  };

  beforeAll(() => {
    scratch = makeScratchDir("kctl-registry-access");
    certs = makeTestCerts(join(scratch, "certs"));
    layout = join(scratch, "layout");
    built = writeImageLayout(layout, "v1", { layers: [{ "etc/one": "1\n" }, { "etc/two": "2\n" }] });
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await issuer?.close();
    removeScratchDir(scratch);
  });

  const expectedBlobs = () => [built.manifest.digest, ...built.layers.map((l) => l.digest)].sort();

  it("uses Basic credentials against an htpasswd registry and names the registry when they are wrong", async () => {
    const registry = await start("basic", {
      auth: htpasswdAuthConfig(join(scratch, "htpasswd"), "alice", "s3cret"),
    });
    await skopeoCopy(layout, "v1", `${registry.host}/private/app:v1`, { creds: "alice:s3cret" });
    const ref = `${registry.host}/private/app:v1`;

    const blobs = await pullBlobs(join(scratch, "store-basic"), ref, {
      credentials: (r) => (r === registry.host ? { username: "alice", password: "s3cret" } : undefined),
    });
    expect(blobs).toEqual(expectedBlobs());

    const wrong = await openPullSource(ref, {
      credentials: () => ({ username: "alice", password: "nope" }),
    }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(RegistryError);
    expect((wrong as RegistryError).code).toBe("Unauthorized");
    expect((wrong as RegistryError).status).toBe(401);
    expect((wrong as RegistryError).registry).toBe(registry.host);
    expect((wrong as Error).message).toContain(`${registry.host}/private/app:v1`);

    const anonymous = await openPullSource(ref).catch((e: unknown) => e);
    expect((anonymous as RegistryError).code).toBe("Unauthorized");
    expect((anonymous as Error).message).toContain("asks for Basic credentials and none are configured");
  });

  it("follows the bearer token flow and caches the token for the pull", async () => {
    issuer = await startTokenIssuer({
      cert: certs.tokenCert,
      key: certs.tokenKey,
      user: "bob",
      password: "hunter2",
    });
    const registry = await start("token", {
      auth: tokenAuthConfig(issuer, certs.tokenCert),
    });
    await skopeoCopy(layout, "v1", `${registry.host}/team/app:v1`, { creds: "bob:hunter2" });
    const before = issuer.requests.length;
    const blobs = await pullBlobs(join(scratch, "store-token"), `${registry.host}/team/app:v1`, {
      credentials: () => ({ username: "bob", password: "hunter2" }),
    });
    expect(blobs).toEqual(expectedBlobs());
    // One token for the manifest and all three blobs.
    expect(issuer.requests.slice(before)).toEqual([["repository:team/app:pull"]]);

    const refused = await openPullSource(`${registry.host}/team/app:v1`, {
      credentials: () => ({ username: "bob", password: "wrong" }),
    }).catch((e: unknown) => e);
    expect((refused as RegistryError).code).toBe("Unauthorized");
    expect((refused as Error).message).toMatch(
      /token issuer http:\/\/127\.0\.0\.1:\d+\/token refused user "bob"/,
    );
  });

  it("trusts a TLS registry through the CA configured for it, and only then", async () => {
    const registry = await start("tls", {
      tls: { certificate: certs.serverCert, key: certs.serverKey, ca: readFileSync(certs.caCert, "utf8") },
    });
    const skopeoCerts = join(scratch, "skopeo-certs");
    mkdirSync(skopeoCerts, { recursive: true });
    copyFileSync(certs.caCert, join(skopeoCerts, "ca.crt"));
    await skopeoCopy(layout, "v1", `${registry.host}/secure/app:v1`, { certDir: skopeoCerts });
    const ref = `${registry.host}/secure/app:v1`;
    const ca = readFileSync(certs.caCert, "utf8");

    const blobs = await pullBlobs(join(scratch, "store-tls"), ref, {
      config: { hosts: { [registry.host]: { ca } } },
    });
    expect(blobs).toEqual(expectedBlobs());

    const untrusted = await openPullSource(ref, {
      config: { hosts: { [registry.host]: { plainHttp: false } } },
    }).catch((e: unknown) => e);
    expect((untrusted as RegistryError).code).toBe("Unavailable");
    expect((untrusted as Error).message).toMatch(
      /https:\/\/127\.0\.0\.1:\d+\/v2\/secure\/app\/manifests\/v1: .*certificate/i,
    );
    // A loopback registry defaults to plain HTTP, which a TLS server does not speak.
    await expect(openPullSource(ref)).rejects.toThrow(RegistryError);
  });

  it("pulls through a mirror first and falls back to the registry when the mirror lacks the image", async () => {
    const upstream = await start("upstream");
    const mirror = await start("mirror");
    await skopeoCopy(layout, "v1", `${mirror.host}/library/app:v1`);
    const other = join(scratch, "layout-other");
    const otherBuilt = writeImageLayout(other, "v2", { layers: [{ "etc/only-upstream": "u\n" }] });
    await skopeoCopy(other, "v2", `${upstream.host}/library/app:v2`);
    const config = { hosts: { [upstream.host]: { mirrors: [`http://${mirror.host}`] } } };

    const viaMirror = await pullBlobs(join(scratch, "store-mirror"), `${upstream.host}/library/app:v1`, {
      config,
    });
    expect(viaMirror).toEqual(expectedBlobs());
    expect(upstream.requests().filter((r) => r.startsWith("GET /v2/library/"))).toEqual([]);

    const fallback = await pullBlobs(join(scratch, "store-fallback"), `${upstream.host}/library/app:v2`, {
      config,
    });
    expect(fallback).toEqual([otherBuilt.manifest.digest, otherBuilt.layers[0]!.digest].sort());
    expect(mirror.requests()).toContain("GET /v2/library/app/manifests/v2 404");
  });
});
