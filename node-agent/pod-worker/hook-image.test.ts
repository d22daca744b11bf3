import { describe, expect, it } from "vitest";
import { ImageError, type ImageStore } from "../runtime/images/index.js";
import { imageHook } from "./hook-image.js";
import { fakeRun, podOf, setupOf } from "./testing/fake-pod-run.js";

/** An image store that knows only `busybox`, and records rootfs calls. */
function fakeImages(broken = false) {
  const calls: string[] = [];
  const images = {
    resolve: async (ref: string) => {
      if (broken) throw new ImageError("SystemError", `image "${ref}": bad blob`);
      if (ref !== "busybox") throw new ImageError("NotFound", `image "${ref}" is not present on this node`);
      return {
        reference: "docker.io/library/busybox:latest",
        manifestDigest: "sha256:abc",
        imageId: "sha256:def",
        config: { entrypoint: [], cmd: ["sh"], env: [], workingDir: "" },
      };
    },
    prepareRootfs: async (id: string) => {
      calls.push(`prepare ${id}`);
      return { path: `/rootfs/${id}` };
    },
    releaseRootfs: async (id: string) => {
      calls.push(`release ${id}`);
    },
  } as unknown as ImageStore;
  return { images, calls };
}

describe("image hook", () => {
  it("resolves the image for the status and gives the attempt a rootfs of its own, released with it", async () => {
    const { images, calls } = fakeImages();
    const run = fakeRun(podOf({ containers: [] }), { images });
    const a = setupOf(run, { name: "main", image: "busybox" });
    await imageHook().prestart!(run, a);
    expect(a.rootfs).toBe(`/rootfs/${a.id}`);
    expect(run.images.get("main")).toEqual({
      image: "busybox",
      imageID: "docker.io/library/busybox@sha256:abc",
    });
    await imageHook().poststop!(run, a);
    expect(calls).toEqual([`prepare ${a.id}`, `release ${a.id}`]);
  });

  it("makes a missing image wait as ErrImageNeverPull or ImagePullBackOff, a broken one as ErrImagePull", async () => {
    const reasonOf = async (pullPolicy: string | undefined, broken = false) => {
      const run = fakeRun(podOf({ containers: [] }), { images: fakeImages(broken).images });
      const spec = {
        name: "main",
        image: broken ? "busybox" : "nothing:1",
        ...(pullPolicy ? { imagePullPolicy: pullPolicy } : {}),
      };
      const err = await imageHook().prestart!(run, setupOf(run, spec)).catch((e: unknown) => e);
      return (err as { reason: string }).reason;
    };
    expect(await reasonOf("Never")).toBe("ErrImageNeverPull");
    expect(await reasonOf(undefined)).toBe("ImagePullBackOff");
    expect(await reasonOf("IfNotPresent", true)).toBe("ErrImagePull");
  });
});
