/**
 * The container's image as a hook: made present by the container's imagePullPolicy (pulled from
 * its registry when the agent has a puller), its `repository@digest` put in the status, and turned
 * into the attempt's own overlay rootfs, which goes when the attempt does. Pulls are told as the
 * kubelet's events (Pulling, Pulled, Failed, BackOff). A missing image waits as ErrImageNeverPull,
 * ErrImagePull or ImagePullBackOff, a broken one as ErrImagePull.
 */
import type { Container } from "../../proto/gen/api.js";
import { ImageError, isImageNotFound, parseReference, type ResolvedImage } from "../runtime/images/index.js";
import {
  ImagePullError,
  type PullerEvents,
  type PullPolicy,
  type PullSecret,
} from "../runtime/registry/image-puller.js";
import { readPullSecrets } from "../runtime/registry/pull-secrets.js";
import type { PodHook, PodRun } from "./pod-hook.js";
import { HookError } from "./pod-hook.js";

const notFoundReason = (c: Container) =>
  (c.imagePullPolicy ?? "IfNotPresent") === "Never" ? "ErrImageNeverPull" : "ImagePullBackOff";

const POLICIES: readonly string[] = ["Always", "IfNotPresent", "Never"];

/** The pod's events for one image, in the kubelet's words. */
function eventsOf(run: PodRun): PullerEvents {
  return {
    pulling: (image) => run.event("Normal", "Pulling", `Pulling image "${image}"`),
    pulled: (image, result) =>
      run.event(
        "Normal",
        "Pulled",
        result.pulled
          ? `Successfully pulled image "${image}" in ${(result.pulled.ms / 1000).toFixed(3)}s. Downloaded ${result.pulled.bytes} bytes.`
          : `Container image "${image}" already present on machine`,
      ),
    failed: (_image, reason, message) => {
      if (reason === "ImagePullBackOff") run.event("Normal", "BackOff", message);
      else if (reason === "ErrImageNeverPull") run.event("Warning", "ErrImageNeverPull", message);
      else run.event("Warning", "Failed", message);
    },
  };
}

/**
 * The pod's pull secrets, read for this pull and not kept; those that cannot be used are told in
 * the kubelet's warning, and the pull goes on without them.
 */
async function podPullSecrets(run: PodRun): Promise<PullSecret[]> {
  const names = (run.pod.spec?.imagePullSecrets ?? []).flatMap((r) => (r.name ? [r.name] : []));
  if (names.length === 0) return [];
  const read = await readPullSecrets(run.pod.metadata?.namespace ?? "default", names, run.deps.lookup);
  if (read.skipped.length > 0) {
    run.event(
      "Warning",
      "FailedToRetrieveImagePullSecret",
      `Unable to retrieve some image pull secrets (${read.skipped.join("; ")}); attempting to pull the image may not succeed.`,
    );
  }
  return read.secrets;
}

/** What the status shows as imageID: the manifest digest under the repository it came from. */
function imageIdOf(image: ResolvedImage): string {
  return `${parseReference(image.reference).repository}@${image.manifestDigest}`;
}

export function imageHook(): PodHook {
  return {
    name: "image",
    async prestart(run, a) {
      const ref = a.spec.image ?? "";
      const puller = run.deps.imagePuller;
      try {
        if (puller) {
          const policy = POLICIES.includes(a.spec.imagePullPolicy ?? "")
            ? (a.spec.imagePullPolicy as PullPolicy)
            : undefined;
          const secrets = await podPullSecrets(run);
          a.image = (
            await puller.ensure(ref, policy, { secrets, events: eventsOf(run), owner: run.uid })
          ).image;
        } else {
          a.image = await run.deps.images.resolve(ref);
        }
        run.images.set(a.name, { image: ref, imageID: imageIdOf(a.image) });
        a.rootfs = (await run.deps.startLimit.run(() => run.deps.images.prepareRootfs(a.id, ref))).path;
      } catch (err) {
        if (err instanceof ImagePullError) throw new HookError(err.reason, err.message, { cause: err });
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
