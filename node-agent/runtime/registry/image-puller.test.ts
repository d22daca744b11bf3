/**
 * The pull policies against the real registry (Debian's docker-registry) and a real store: Never and
 * IfNotPresent use what is there, Always asks the registry every time and downloads no layer it
 * has, a pull secret authenticates, a missing tag fails as ErrImagePull then ImagePullBackOff until
 * the back-off passes, with one-line messages. Root: the store unpacks layers.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../../../foundation/util/clock.js";
import { makeScratchDir, removeScratchDir } from "../../network/testing/scratch-linux.js";
import { ImageStore } from "../images/image-store.js";
import { defaultPullPolicy, ImagePullError, ImagePuller, type PullSecret } from "./image-puller.js";
import {
  htpasswdAuthConfig,
  type RegistryServer,
  skopeoCopy,
  startRegistry,
} from "./testing/registry-server.js";
import { type BuiltImage, writeImageLayout } from "./testing/test-images.js";

const isRoot = process.getuid?.() === 0;

describe("defaultPullPolicy", () => {
  it.each([
    ["busybox", "Always"],
    ["busybox:latest", "Always"],
    ["r.example:5000/a/b", "Always"],
    ["busybox:1.35.0", "IfNotPresent"],
    [`busybox@sha256:${"a".repeat(64)}`, "IfNotPresent"],
  ])("%s → %s", (image, policy) => expect(defaultPullPolicy(image)).toBe(policy));
});

describe.skipIf(!isRoot)("ImagePuller against a registry (root)", () => {
  let scratch: string;
  let registry: RegistryServer;
  let v1: BuiltImage;
  const events: string[] = [];
  const clock = new FakeClock(1_000_000);
  let store: ImageStore;
  let puller: ImagePuller;
  const secret = (user: string, password: string): PullSecret => ({
    name: "default/regcred",
    kind: ".dockerconfigjson",
    value: JSON.stringify({
      auths: { [registry.host]: { auth: Buffer.from(`${user}:${password}`).toString("base64") } },
    }),
  });
  const layerGets = () =>
    registry
      .requests()
      .filter(
        (r) =>
          r.endsWith(" 200") && v1.layers.some((l) => r.startsWith(`GET /v2/team/app/blobs/${l.digest}`)),
      ).length;

  beforeAll(async () => {
    scratch = makeScratchDir("kctl-image-puller");
    registry = await startRegistry({
      dir: join(scratch, "registry"),
      auth: htpasswdAuthConfig(join(scratch, "htpasswd"), "bob", "pw"),
    });
    v1 = writeImageLayout(join(scratch, "v1"), "v1", { layers: [{ "a.txt": "one" }, { "b.txt": "two" }] });
    writeImageLayout(join(scratch, "v2"), "v2", { layers: [{ "a.txt": "one" }, { "b.txt": "changed" }] });
    await skopeoCopy(join(scratch, "v1"), "v1", `${registry.host}/team/app:1`, { creds: "bob:pw" });
    await skopeoCopy(join(scratch, "v1"), "v1", `${registry.host}/team/app:latest`, { creds: "bob:pw" });
    store = new ImageStore(join(scratch, "state"));
    puller = new ImagePuller({
      store,
      clock,
      events: {
        pulling: (i) => events.push(`Pulling ${i}`),
        pulled: (i, r) => events.push(r.pulled ? `Pulled ${i} ${r.pulled.bytes}` : `Present ${i}`),
        failed: (i, reason, message) => events.push(`Failed ${i} ${reason}: ${message}`),
      },
    });
  });
  afterAll(async () => {
    await registry?.stop();
    if (scratch) removeScratchDir(scratch);
  });

  it("Never refuses an absent image without asking the registry", async () => {
    const image = `${registry.host}/team/app:1`;
    const before = registry.requests().length;
    await expect(puller.ensure(image, "Never")).rejects.toMatchObject({ reason: "ErrImageNeverPull" });
    expect(registry.requests().length).toBe(before);
  });

  it("IfNotPresent pulls once with the pull secret, then uses what is there; imageID is the manifest digest", async () => {
    const image = `${registry.host}/team/app:1`;
    const first = await puller.ensure(image, "IfNotPresent", { secrets: [secret("bob", "pw")] });
    expect(first.image.manifestDigest).toBe(v1.manifest.digest);
    expect(first.pulled!.bytes).toBe(v1.layers.reduce((n, l) => n + l.size, 0));
    expect(layerGets()).toBe(2);
    const again = await puller.ensure(image, undefined);
    expect(again.pulled).toBeUndefined();
    expect(layerGets()).toBe(2);
    expect(events.slice(-3)).toEqual([
      `Pulling ${image}`,
      `Pulled ${image} ${first.pulled!.bytes}`,
      `Present ${image}`,
    ]);
  });

  it("Always (the default for :latest) asks the registry each time and downloads no layer it has", async () => {
    const image = `${registry.host}/team/app:latest`;
    const manifestGets = () =>
      registry
        .requests()
        .filter((r) => r.startsWith("GET /v2/team/app/manifests/latest") && r.endsWith(" 200")).length;
    const before = manifestGets();
    const pulled = await puller.ensure(image, undefined, { secrets: [secret("bob", "pw")] });
    expect(pulled.image.manifestDigest).toBe(v1.manifest.digest);
    expect(pulled.pulled!.bytes).toBe(0);
    await puller.ensure(image, "Always", { secrets: [secret("bob", "pw")] });
    expect(manifestGets()).toBe(before + 2);
    expect(layerGets()).toBe(2);
  });

  it("a missing tag or wrong credentials: ErrImagePull, then ImagePullBackOff until the back-off passes", async () => {
    const missing = `${registry.host}/team/app:nope`;
    const err = await puller
      .ensure(missing, undefined, { secrets: [secret("bob", "pw")] })
      .catch((e: ImagePullError) => e);
    expect(err).toBeInstanceOf(ImagePullError);
    expect((err as ImagePullError).reason).toBe("ErrImagePull");
    expect((err as ImagePullError).message).toMatch(/^failed to pull image ".*:nope": .*nope/);
    expect((err as ImagePullError).message).not.toContain("\n");
    const requests = registry.requests().length;
    await expect(puller.ensure(missing, undefined, { secrets: [secret("bob", "pw")] })).rejects.toMatchObject(
      {
        reason: "ImagePullBackOff",
      },
    );
    expect(registry.requests().length).toBe(requests);
    clock.advance(10_000);
    await expect(puller.ensure(missing, undefined, { secrets: [secret("bob", "pw")] })).rejects.toMatchObject(
      {
        reason: "ErrImagePull",
      },
    );
    // The delay doubled: 10 s later it is still backing off.
    clock.advance(10_000);
    await expect(puller.ensure(missing, undefined, { secrets: [secret("bob", "pw")] })).rejects.toMatchObject(
      {
        reason: "ImagePullBackOff",
      },
    );
    // Quiet for over twice the cap, the back-off is forgotten: the next failure waits 10 s again.
    clock.advance(20_000 + 600_001);
    await expect(puller.ensure(missing, undefined, { secrets: [secret("bob", "pw")] })).rejects.toMatchObject(
      {
        reason: "ErrImagePull",
      },
    );
    clock.advance(10_000);
    await expect(puller.ensure(missing, undefined, { secrets: [secret("bob", "pw")] })).rejects.toMatchObject(
      {
        reason: "ErrImagePull",
      },
    );

    const wrong = await puller
      .ensure(`${registry.host}/team/app:1@${v1.manifest.digest}`, undefined, {
        secrets: [secret("bob", "bad")],
      })
      .catch((e: ImagePullError) => e);
    // Pinned by digest and present: IfNotPresent takes it without asking, whatever the secret says.
    expect(wrong).not.toBeInstanceOf(Error);
    const denied = await puller
      .ensure(`${registry.host}/team/other:1`, undefined, { secrets: [secret("bob", "bad")] })
      .catch((e: ImagePullError) => e);
    expect((denied as ImagePullError).reason).toBe("ErrImagePull");
    expect((denied as ImagePullError).message).toMatch(/unauthori/i);
  });

  it("one pod's wrong credentials hold back no other pod's pull, and no pod rides on another's credentials", async () => {
    const image = `${registry.host}/team/app:1`;
    const denied = (await puller
      .ensure(image, "Always", { secrets: [secret("bob", "guess")], owner: "pod-a" })
      .catch((e) => e)) as ImagePullError;
    expect(denied.reason).toBe("ErrImagePull");
    expect(denied.message).toBe(
      `failed to pull image "${image}": GET ${image} at http://${registry.host}/v2/team/app/manifests/1: HTTP 401 UNAUTHORIZED: authentication required (credentials refused or missing)`,
    );
    // The back-off is pod-a's: pod-b, with the right secret, pulls at once.
    await expect(
      puller.ensure(image, "Always", { secrets: [secret("bob", "pw")], owner: "pod-b" }),
    ).resolves.toMatchObject({ image: { manifestDigest: v1.manifest.digest } });
    await expect(
      puller.ensure(image, "Always", { secrets: [secret("bob", "guess")], owner: "pod-a" }),
    ).rejects.toMatchObject({ reason: "ImagePullBackOff" });
    // Asked at the same moment, the pod without a secret is not served by the other's pull.
    const [anonymous, allowed] = await Promise.allSettled([
      puller.ensure(image, "Always", { owner: "pod-c" }),
      puller.ensure(image, "Always", { secrets: [secret("bob", "pw")], owner: "pod-d" }),
    ]);
    expect(anonymous).toMatchObject({ status: "rejected", reason: { reason: "ErrImagePull" } });
    expect(allowed.status).toBe("fulfilled");
  });

  it("refuses a malformed image name and a malformed pull secret in one line", async () => {
    await expect(puller.ensure("UPPER/Case", undefined)).rejects.toMatchObject({
      reason: "InvalidImageName",
    });
    const bad: PullSecret = { name: "default/broken", kind: ".dockerconfigjson", value: "{" };
    const err = (await puller
      .ensure(`${registry.host}/team/app:2`, undefined, { secrets: [bad] })
      .catch((e) => e)) as ImagePullError;
    expect(err.reason).toBe("ErrImagePull");
    expect(err.message).toMatch(/secret default\/broken: \.dockerconfigjson is not valid JSON/);
  });
});
