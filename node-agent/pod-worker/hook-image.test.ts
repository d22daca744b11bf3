import { describe, expect, it } from "vitest";
import type { Secret } from "../../proto/gen/api.js";
import { ImageError, type ImageStore } from "../runtime/images/index.js";
import {
  ImagePullError,
  type ImagePuller,
  type PullerEvents,
  type PullSecret,
} from "../runtime/registry/image-puller.js";
import { imageHook } from "./hook-image.js";
import type { ObjectLookup } from "./object-lookup.js";
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

  it("with a puller: the container's policy decides, pull results become events, a failed pull its waiting reason", async () => {
    const { images } = fakeImages();
    const asked: string[] = [];
    const puller = {
      ensure: async (ref: string, policy: string | undefined, { events }: { events?: PullerEvents }) => {
        asked.push(`${ref} ${policy}`);
        if (ref === "gone:1") {
          events?.failed(ref, "ImagePullBackOff", `Back-off pulling image "${ref}": not found`);
          throw new ImagePullError("ImagePullBackOff", `Back-off pulling image "${ref}": not found`);
        }
        const image = await images.resolve("busybox");
        events?.pulling(ref);
        events?.pulled(ref, { image, pulled: { bytes: 1234, ms: 1500 } });
        return { image, pulled: { bytes: 1234, ms: 1500 } };
      },
    } as unknown as ImagePuller;
    const run = fakeRun(podOf({ containers: [] }), { images, imagePuller: puller });
    await imageHook().prestart!(
      run,
      setupOf(run, { name: "main", image: "busybox", imagePullPolicy: "Always" }),
    );
    expect(run.events).toEqual([
      'Normal Pulling: Pulling image "busybox"',
      'Normal Pulled: Successfully pulled image "busybox" in 1.500s. Downloaded 1234 bytes.',
    ]);
    const err = await imageHook().prestart!(run, setupOf(run, { name: "other", image: "gone:1" })).catch(
      (e: unknown) => e,
    );
    expect((err as { reason: string }).reason).toBe("ImagePullBackOff");
    expect(run.events.at(-1)).toBe('Normal BackOff: Back-off pulling image "gone:1": not found');
    expect(asked).toEqual(["busybox Always", "gone:1 undefined"]);
  });

  it("pulls with the pod's own pull secrets, read from its namespace for that pull, and warns of those it cannot use", async () => {
    const { images } = fakeImages();
    const asked: string[] = [];
    const got: { secrets?: readonly PullSecret[]; owner?: string }[] = [];
    const puller = {
      ensure: async (
        _ref: string,
        _policy: unknown,
        request: { secrets?: readonly PullSecret[]; owner?: string },
      ) => {
        got.push(request);
        return { image: await images.resolve("busybox") };
      },
    } as unknown as ImagePuller;
    const lookup = {
      secret: async (ns: string, name: string): Promise<Secret | undefined> => {
        asked.push(`${ns}/${name}`);
        if (name === "theirs") throw new Error("forbidden: no pod bound to node n1 uses it");
        if (name !== "regcred") return undefined;
        return {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name, namespace: ns },
          type: "kubernetes.io/dockerconfigjson",
          data: { ".dockerconfigjson": Buffer.from('{"auths":{}}').toString("base64") },
        };
      },
    } as unknown as ObjectLookup;
    const pod = podOf({
      containers: [],
      imagePullSecrets: [{ name: "regcred" }, { name: "theirs" }, { name: "gone" }],
    });
    const run = fakeRun(pod, { images, imagePuller: puller, lookup });
    await imageHook().prestart!(run, setupOf(run, { name: "main", image: "busybox" }));
    expect(asked).toEqual(["ns/regcred", "ns/theirs", "ns/gone"]);
    expect(got[0]?.secrets?.map((s) => s.name)).toEqual(["ns/regcred"]);
    expect(got[0]?.owner).toBe(pod.metadata.uid);
    expect(run.events[0]).toBe(
      "Warning FailedToRetrieveImagePullSecret: Unable to retrieve some image pull secrets (secret ns/theirs could not be read: forbidden: no pod bound to node n1 uses it; secret ns/gone not found); attempting to pull the image may not succeed.",
    );

    // A pod naming none asks the control plane for nothing.
    const plain = fakeRun(podOf({ containers: [] }), { images, imagePuller: puller, lookup });
    await imageHook().prestart!(plain, setupOf(plain, { name: "main", image: "busybox" }));
    expect(asked).toHaveLength(3);
    expect(got[1]?.secrets).toEqual([]);
  });
});
