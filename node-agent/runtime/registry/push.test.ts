/**
 * Pushes images from a real image store to the real registry (Debian's docker-registry) and reads
 * them back with skopeo, which verifies every digest: a monolithic upload, a chunked one, blobs the
 * registry already has (skipped), a cross-repository mount, and Basic auth. Root: the store unpacks
 * layers when it imports.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeScratchDir, removeScratchDir } from "../../network/testing/scratch-linux.js";
import { buildBusyboxImage } from "../images/busybox-image.js";
import { sha256Digest } from "../images/digest.js";
import { ImageStore } from "../images/image-store.js";
import { RegistryError } from "./errors.js";
import { pushImage } from "./push.js";
import { makeTestCerts } from "./testing/certs.js";
import {
  htpasswdAuthConfig,
  type RegistryServer,
  skopeoCopy,
  startRegistry,
} from "./testing/registry-server.js";
import { writeImageLayout } from "./testing/test-images.js";
import { startTokenIssuer, tokenAuthConfig } from "./testing/token-issuer.js";

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

/** The manifest at `ref` as the registry serves it, read by skopeo. */
async function rawManifest(ref: string, creds?: string): Promise<string> {
  const args = [
    "inspect",
    "--raw",
    "--tls-verify=false",
    ...(creds ? ["--creds", creds] : []),
    `docker://${ref}`,
  ];
  return (await run("skopeo", args)).stdout;
}

/** Copies `ref` out of the registry with skopeo, which fails on any blob that does not match. */
async function copyOut(ref: string, dir: string, creds?: string): Promise<void> {
  const args = ["--insecure-policy", "copy", "--quiet", "--src-tls-verify=false"];
  if (creds) args.push("--src-creds", creds);
  await run("skopeo", [...args, `docker://${ref}`, `oci:${dir}:out`]);
}

describe.skipIf(!isRoot)("push to a registry (root)", () => {
  let scratch: string;
  let registry: RegistryServer;
  let store: ImageStore;
  let busyboxDigest: string;

  beforeAll(async () => {
    scratch = makeScratchDir("kctl-registry-push");
    registry = await startRegistry({ dir: join(scratch, "registry") });
    store = new ImageStore(join(scratch, "state"));
    busyboxDigest = await buildBusyboxImage(join(scratch, "busybox"), { reference: "local/busybox:1" });
    await store.importLayout(join(scratch, "busybox"));
  });
  afterAll(async () => {
    await registry?.stop();
    removeScratchDir(scratch);
  });

  const uploads = (repo: string) =>
    registry
      .requests()
      .filter((r) => r.startsWith(`PUT /v2/${repo}/blobs/uploads/`) || r.startsWith(`PATCH /v2/${repo}/`));

  it("pushes a local image whose manifest and blobs read back unchanged, and skips blobs the registry has", async () => {
    const ref = `${registry.host}/team/busybox:1`;
    const pushed = await pushImage(store, "local/busybox:1", ref);
    expect(pushed.manifestDigest).toBe(busyboxDigest);
    expect(pushed.uploaded).toHaveLength(2);
    const manifest = await rawManifest(ref);
    expect(sha256Digest(manifest)).toBe(busyboxDigest);
    await copyOut(ref, join(scratch, "out-busybox"));

    const again = await pushImage(store, "local/busybox:1", `${registry.host}/team/busybox:again`);
    expect(again.uploaded).toEqual([]);
    expect(uploads("team/busybox")).toHaveLength(2);
  });

  it("uploads in chunks when a blob is over the chunk size", async () => {
    const ref = `${registry.host}/team/chunked:1`;
    const pushed = await pushImage(store, "local/busybox:1", ref, { chunkSize: 256 << 10 });
    expect(pushed.uploaded).toHaveLength(2);
    expect(uploads("team/chunked").filter((r) => r.startsWith("PATCH ")).length).toBeGreaterThan(2);
    await copyOut(ref, join(scratch, "out-chunked"));
  });

  it("mounts blobs from another repository instead of uploading them", async () => {
    const ref = `${registry.host}/team/mounted:1`;
    const pushed = await pushImage(store, "local/busybox:1", ref, { mountFrom: "team/busybox" });
    expect(pushed.uploaded).toEqual([]);
    expect(pushed.mounted).toHaveLength(2);
    expect(uploads("team/mounted")).toEqual([]);
    await copyOut(ref, join(scratch, "out-mounted"));
  });

  it("pushes a pulled image under a new name and digest-pinned reference, with Basic auth", async () => {
    const secured = await startRegistry({
      dir: join(scratch, "registry-auth"),
      auth: htpasswdAuthConfig(join(scratch, "htpasswd"), "carol", "pw"),
    });
    try {
      const layout = join(scratch, "two-layers");
      const built = writeImageLayout(layout, "v1", { layers: [{ a: "a\n" }, { b: "b\n" }] });
      await skopeoCopy(layout, "v1", `${registry.host}/team/two:v1`);
      await store.pull(`${registry.host}/team/two:v1`);

      const dest = `${secured.host}/mirror/two@${built.manifest.digest}`;
      const denied = await pushImage(store, `${registry.host}/team/two:v1`, dest).catch((e: unknown) => e);
      expect(denied).toBeInstanceOf(RegistryError);
      expect(denied).toMatchObject({
        code: "Unauthorized",
        registry: secured.host,
        repository: "mirror/two",
      });

      const credentials = () => ({ username: "carol", password: "pw" });
      const pushed = await pushImage(store, `${registry.host}/team/two:v1`, dest, { credentials });
      expect(pushed.manifestDigest).toBe(built.manifest.digest);
      await copyOut(dest, join(scratch, "out-two"), "carol:pw");

      await expect(
        pushImage(
          store,
          `${registry.host}/team/two:v1`,
          `${secured.host}/mirror/two@sha256:${"0".repeat(64)}`,
          {
            credentials,
          },
        ),
      ).rejects.toThrow(/the local image is sha256:[0-9a-f]{64}, not the digest the reference pins/);
      await expect(pushImage(store, "local/nothere:1", `${secured.host}/x/y:1`)).rejects.toThrow(
        /not present on this node/,
      );
    } finally {
      await secured.stop();
    }
  });

  it("pushes to a token-auth registry and mounts across repositories with a token for both", async () => {
    const certs = makeTestCerts(join(scratch, "certs"));
    const issuer = await startTokenIssuer({
      cert: certs.tokenCert,
      key: certs.tokenKey,
      user: "dave",
      password: "pw",
    });
    try {
      const secured = await startRegistry({
        dir: join(scratch, "registry-token"),
        auth: tokenAuthConfig(issuer, certs.tokenCert),
      });
      try {
        const credentials = () => ({ username: "dave", password: "pw" });
        const first = await pushImage(store, "local/busybox:1", `${secured.host}/team/src:1`, {
          credentials,
        });
        expect(first.uploaded).toHaveLength(2);
        const second = await pushImage(store, "local/busybox:1", `${secured.host}/team/dst:1`, {
          credentials,
          mountFrom: "team/src",
        });
        expect(second.mounted).toHaveLength(2);
        expect(issuer.requests).toContainEqual(["repository:team/dst:pull,push", "repository:team/src:pull"]);
        await copyOut(`${secured.host}/team/dst:1`, join(scratch, "out-token"), "dave:pw");
      } finally {
        await secured.stop();
      }
    } finally {
      await issuer.close();
    }
  });
});
