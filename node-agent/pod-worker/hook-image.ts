/**
 * The container's image as a hook: resolved in the node's image store (its ID goes into the
 * status) and turned into the attempt's own overlay rootfs, which goes when the attempt does.
 * A missing image waits as ErrImageNeverPull or ImagePullBackOff, a broken one as ErrImagePull.
 */
import type { Container } from "../../proto/gen/api.js";
import { ImageError, isImageNotFound } from "../runtime/images/index.js";
import type { PodHook } from "./pod-hook.js";
import { HookError } from "./pod-hook.js";

const notFoundReason = (c: Container) =>
  (c.imagePullPolicy ?? "IfNotPresent") === "Never" ? "ErrImageNeverPull" : "ImagePullBackOff";

export function imageHook(): PodHook {
  return {
    name: "image",
    async prestart(run, a) {
      const ref = a.spec.image ?? "";
      try {
        a.image = await run.deps.images.resolve(ref);
        run.images.set(a.name, { image: ref, imageID: a.image.imageId });
        a.rootfs = (await run.deps.images.prepareRootfs(a.id, ref)).path;
      } catch (err) {
        if (isImageNotFound(err))
          throw new HookError(notFoundReason(a.spec), (err as Error).message, { cause: err });
        if (err instanceof ImageError) throw new HookError("ErrImagePull", err.message, { cause: err });
        throw err;
      }
    },
    async poststop(run, ref) {
      await run.deps.images.releaseRootfs(ref.id);
    },
  };
}
