import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apiAccessVolume } from "../../controlplane/serviceaccount/admission.js";
import type { ConfigMap, PodSpec } from "../../proto/gen/api.js";
import { DEFAULT_VOLUME_REFRESH_MS, volumesHook } from "./hook-volumes.js";
import type { ObjectLookup } from "./object-lookup.js";
import { HookError } from "./pod-hook.js";
import { fakeRun, podOf, setupOf } from "./testing/fake-pod-run.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "volumes-hook-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** ConfigMaps from a map the test may change; no Secrets. */
function lookupOf(configMaps: Map<string, Record<string, string>>): ObjectLookup {
  return {
    configMap: async (_ns, name) => {
      const data = configMaps.get(name);
      return data
        ? ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data } as ConfigMap)
        : undefined;
    },
    secret: async () => undefined,
  };
}

const spec: PodSpec = {
  volumes: [
    { name: "cfg", configMap: { name: "settings", defaultMode: 0o440 } },
    {
      name: "picked",
      configMap: { name: "settings", items: [{ key: "b", path: "nested/bee", mode: 0o400 }] },
    },
    { name: "scratch", emptyDir: {} },
  ],
  containers: [
    {
      name: "main",
      volumeMounts: [
        { name: "cfg", mountPath: "/cfg" },
        { name: "scratch", mountPath: "/data" },
      ],
    },
  ],
};

describe("volumes hook", () => {
  // subPath mounts need the native mount helper and root: e2e/pod-features.test.ts has them.
  it("makes the pod's volumes once, with items and modes, and mounts them into a container", async () => {
    const configMaps = new Map([["settings", { a: "alpha", b: "beta" }]]);
    const run = fakeRun(podOf(spec), { lookup: lookupOf(configMaps) }, dir);
    const hook = volumesHook();
    await hook.prerun!(run);
    const cfg = join(dir, "volumes", "cfg");
    expect(await readFile(join(cfg, "a"), "utf8")).toBe("alpha");
    expect((await stat(join(cfg, "a"))).mode & 0o777).toBe(0o440);
    const bee = join(dir, "volumes", "picked", "nested", "bee");
    expect(await readFile(bee, "utf8")).toBe("beta");
    expect((await stat(bee)).mode & 0o777).toBe(0o400);
    const a = setupOf(run, spec.containers![0]!);
    await hook.prestart!(run, a);
    expect(a.mounts).toEqual([
      { source: cfg, destination: "/cfg", readOnly: true },
      { source: join(dir, "volumes", "scratch"), destination: "/data" },
    ]);
    await hook.postrun!(run);
    await expect(stat(join(dir, "volumes"))).rejects.toThrow();
  });

  it("writes a changed ConfigMap into the volume again, once the refresh period has passed", async () => {
    const configMaps = new Map([["settings", { a: "alpha", b: "beta" }]]);
    const run = fakeRun(podOf(spec), { lookup: lookupOf(configMaps) }, dir);
    const hook = volumesHook();
    await hook.prerun!(run);
    configMaps.set("settings", { a: "omega", b: "beta" });
    run.clock.advance(DEFAULT_VOLUME_REFRESH_MS - 1);
    await hook.prerun!(run);
    const a = join(dir, "volumes", "cfg", "a");
    expect(await readFile(a, "utf8")).toBe("alpha");
    run.clock.advance(1);
    await hook.prerun!(run);
    expect(await readFile(a, "utf8")).toBe("omega");
  });

  it("keeps what the volume had when a refresh cannot read the ConfigMap", async () => {
    const configMaps = new Map([["settings", { a: "alpha", b: "beta" }]]);
    const run = fakeRun(podOf(spec), { lookup: lookupOf(configMaps) }, dir);
    const hook = volumesHook();
    await hook.prerun!(run);
    configMaps.delete("settings");
    run.clock.advance(DEFAULT_VOLUME_REFRESH_MS);
    expect(await hook.prerun!(run)).toBeUndefined();
    expect(await readFile(join(dir, "volumes", "cfg", "a"), "utf8")).toBe("alpha");
  });

  it("fails the pod with FailedMount when a ConfigMap is missing, and a container mounting an undefined volume with CreateContainerConfigError", async () => {
    const run = fakeRun(podOf(spec), { lookup: lookupOf(new Map()) }, dir);
    const mountErr = await volumesHook().prerun!(run).catch((e: unknown) => e);
    expect(mountErr).toBeInstanceOf(HookError);
    expect(mountErr).toMatchObject({
      reason: "FailedMount",
      message: 'volume "cfg": configmap "settings" not found',
    });

    const ok = fakeRun(podOf({ containers: [] }), { lookup: lookupOf(new Map()) }, dir);
    const hook = volumesHook();
    await hook.prerun!(ok);
    const a = setupOf(ok, { name: "main", volumeMounts: [{ name: "nope", mountPath: "/x" }] });
    const configErr = await hook.prestart!(ok, a).catch((e: unknown) => e);
    expect(configErr).toMatchObject({ reason: "CreateContainerConfigError" });
    expect((configErr as Error).message).toContain('volume "nope"');
  });

  it("writes a projected volume: the pod's token (refreshed by the token source), the CA and its namespace", async () => {
    const configMaps = new Map([["kube-root-ca.crt", { "ca.crt": "PEM" }]]);
    let issued = 0;
    const asked: unknown[] = [];
    const lookup: ObjectLookup = {
      ...lookupOf(configMaps),
      serviceAccountToken: async (key) => {
        asked.push(key);
        return `token-${++issued}`;
      },
    };
    const pod = podOf({ volumes: [apiAccessVolume("kube-api-access-x")], containers: [] });
    const run = fakeRun(pod, { lookup }, dir);
    const hook = volumesHook();
    await hook.prerun!(run);
    const vol = join(dir, "volumes", "kube-api-access-x");
    expect(await readFile(join(vol, "token"), "utf8")).toBe("token-1");
    expect(await readFile(join(vol, "ca.crt"), "utf8")).toBe("PEM");
    expect(await readFile(join(vol, "namespace"), "utf8")).toBe(pod.metadata.namespace);
    expect((await stat(join(vol, "token"))).mode & 0o777).toBe(0o644);
    expect(asked).toEqual([
      {
        namespace: pod.metadata.namespace,
        pod: pod.metadata.name,
        podUid: pod.metadata.uid,
        audience: "",
        expirationSeconds: 3607,
      },
    ]);
    run.clock.advance(DEFAULT_VOLUME_REFRESH_MS);
    await hook.prerun!(run);
    expect(await readFile(join(vol, "token"), "utf8")).toBe("token-2");
  });

  it("asks for a projected volume's token and CA ConfigMap at once, not one after the other", async () => {
    const asked: string[] = [];
    let answer!: () => void;
    const gate = new Promise<void>((resolve) => (answer = resolve));
    const lookup: ObjectLookup = {
      configMap: async (_ns, name) => {
        asked.push(`configMap ${name}`);
        await gate;
        return {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name },
          data: { "ca.crt": "PEM" },
        } as ConfigMap;
      },
      secret: async () => undefined,
      serviceAccountToken: async () => {
        asked.push("token");
        await gate;
        return "token";
      },
    };
    const run = fakeRun(
      podOf({ volumes: [apiAccessVolume("kube-api-access-x")], containers: [] }),
      { lookup },
      dir,
    );
    const prepared = volumesHook().prerun!(run);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(asked.sort()).toEqual(["configMap kube-root-ca.crt", "token"]);
    answer();
    await prepared;
    expect(await readFile(join(dir, "volumes", "kube-api-access-x", "ca.crt"), "utf8")).toBe("PEM");
  });
});
