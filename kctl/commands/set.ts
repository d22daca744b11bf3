/**
 * `kctl set image deployment/NAME CONTAINER=IMAGE ...`: changes container images of a Deployment,
 * ReplicaSet, DaemonSet or Pod, like `kubectl set image`; a Deployment then rolls to the new template. A
 * container is looked up by name among the containers, then the init containers; `*=IMAGE` sets
 * every one. Nothing is written unless every name is found. The object is replaced with the
 * version read, and read again if someone wrote in between.
 */

import { qualifiedKind } from "../../foundation/api/resources.js";
import type { Container, PodSpec } from "../../proto/gen/api.js";
import { resourcePath, retryOnConflict } from "../client.js";
import type { Command } from "../command.js";
import { namespaceFlag } from "../common-flags.js";
import { CliError, UsageError } from "../errors.js";
import { parseWorkload } from "../rollout/workload.js";
import { namespaceFlagValue } from "../targets.js";

interface Assignment {
  container: string;
  image: string;
}

interface ObjectWithPodSpec {
  metadata?: { resourceVersion?: string };
  spec?: PodSpec & { template?: { spec?: PodSpec } };
}

export const setCommand: Command = {
  usage:
    "kctl set image deployment/NAME|replicaset/NAME|daemonset/NAME|pod/NAME CONTAINER=IMAGE [CONTAINER=IMAGE...] [-n NS]\n" +
    "       (*=IMAGE sets every container)",
  flags: [namespaceFlag],
  async run(ctx) {
    const [what, ...args] = ctx.positionals;
    if (what !== "image") {
      throw new UsageError(`kctl set: expected "image"${what ? `, got "${what}"` : ""}`);
    }
    const assignments = args.filter((a) => a.includes("=")).map(parseAssignment);
    const words = args.filter((a) => !a.includes("="));
    const image = words.find((w, i) => i > 0 && w.includes(":"));
    if (image && words.length > (words[0]?.includes("/") ? 1 : 2)) {
      throw new UsageError(
        `set image: "${image}" is not CONTAINER=IMAGE; name the container, e.g. web=${image}`,
      );
    }
    const { info, name } = parseWorkload(
      words,
      ["Deployment", "ReplicaSet", "DaemonSet", "Pod"],
      "set image",
    );
    if (assignments.length === 0) {
      throw new UsageError("set image: give at least one CONTAINER=IMAGE, e.g. web=busybox:1.37");
    }
    const { client, access } = await ctx.connect();
    const path = resourcePath(info, namespaceFlagValue(ctx.flags, access.namespace), name);
    const label = `${qualifiedKind(info)}/${name}`;
    return retryOnConflict(async () => {
      const obj = await client.request<ObjectWithPodSpec>("GET", path);
      const spec = info.kind === "Pod" ? obj.spec : obj.spec?.template?.spec;
      if (!setImages(spec ?? {}, assignments, label)) {
        ctx.io.stdout.write(`${label} image unchanged\n`);
        return 0;
      }
      await client.request("PUT", path, { body: obj });
      ctx.io.stdout.write(`${label} image updated\n`);
      return 0;
    });
  },
};

function parseAssignment(arg: string): Assignment {
  const eq = arg.indexOf("=");
  const container = arg.slice(0, eq);
  const image = arg.slice(eq + 1);
  if (!container || !image || /\s/.test(image)) {
    throw new UsageError(`set image: "${arg}" is not CONTAINER=IMAGE`);
  }
  return { container, image };
}

/**
 * Applies `assignments` to `spec` in place; true when an image changed. Throws naming the first
 * container that is not there, before anything is written.
 */
function setImages(spec: PodSpec, assignments: readonly Assignment[], label: string): boolean {
  const all: Container[] = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  let changed = false;
  for (const { container, image } of assignments) {
    const targets = container === "*" ? all : all.filter((c) => c.name === container);
    if (targets.length === 0) {
      throw new CliError(
        `unable to find container named "${container}" in ${label} (it has ${all.map((c) => c.name).join(", ") || "none"})`,
      );
    }
    for (const c of targets) {
      if (c.image !== image) changed = true;
      c.image = image;
    }
  }
  return changed;
}
