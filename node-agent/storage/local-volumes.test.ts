import { mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PersistentVolume, PersistentVolumeClaim } from "../../proto/gen/api.js";
import { capacityNotEnforcedReason, claimDirectory, removeReclaimedVolumes } from "./local-volumes.js";

let dir: string;
let storage: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "local-volumes-"));
  storage = join(dir, "storage");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sources(volumeName: string | undefined, pv: Partial<NonNullable<PersistentVolume["spec"]>>) {
  const claim: PersistentVolumeClaim = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "www-web-0", namespace: "default" },
    spec: volumeName ? { volumeName } : {},
  };
  const volume: PersistentVolume = {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: volumeName ?? "" },
    spec: {
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n1"] }] },
          ],
        },
      },
      ...pv,
    },
  };
  return { claim: async () => claim, volume: async () => (volumeName ? volume : undefined) };
}

describe("local-path volumes on the node", () => {
  it("makes the directory of this node's volume under the storage dir, writable by any uid", async () => {
    const path = join(storage, "pvc-1234");
    const got = await claimDirectory(
      sources("pvc-1234", { local: { path } }),
      "n1",
      storage,
      "default",
      "www-web-0",
    );
    expect(got).toBe(path);
    expect((await stat(path)).mode & 0o777).toBe(0o777);
  });

  it.each([
    { name: "an unbound claim", volume: undefined, pv: {}, node: "n1", error: "not bound to a volume yet" },
    {
      name: "a volume on another node",
      volume: "pvc-1234",
      pv: { local: { path: "/x/pvc-1234" } },
      node: "n2",
      error: 'volume "pvc-1234" is not reachable from node "n2"',
    },
    {
      // A PV naming a path outside the storage dir is never created: it must already exist.
      name: "a volume path outside the storage dir that does not exist",
      volume: "pvc-1234",
      pv: { local: { path: "/etc/kctl-not-here/pvc-1234" } },
      node: "n1",
      error: "does not exist on this node",
    },
  ])("refuses $name", async ({ volume, pv, node, error }) => {
    await expect(claimDirectory(sources(volume, pv), node, storage, "default", "www-web-0")).rejects.toThrow(
      error,
    );
    await expect(stat("/etc/kctl-not-here")).rejects.toThrow();
  });

  it("removes only volume directories whose PV is gone, without following links inside them", async () => {
    const outside = join(dir, "outside");
    await mkdir(outside);
    await writeFile(join(outside, "keep"), "x");
    for (const name of ["pvc-aaaa", "pvc-bbbb", "other"])
      await mkdir(join(storage, name), { recursive: true });
    await symlink(outside, join(storage, "pvc-aaaa", "link"));
    const removed = await removeReclaimedVolumes(storage, async (name) => name === "pvc-bbbb");
    expect(removed).toEqual(["pvc-aaaa"]);
    expect((await readdir(storage)).sort()).toEqual(["other", "pvc-bbbb"]);
    expect(await readdir(outside)).toEqual(["keep"]);
  });

  it("says why capacity is not enforced, naming the filesystem", async () => {
    expect(await capacityNotEnforcedReason(dir)).toMatch(
      / at \S+ (is not mounted with project quotas|has project quotas)/,
    );
  });
});
