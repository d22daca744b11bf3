/**
 * `kctl scale deployment/NAME|rs/NAME --replicas N [--current-replicas M]`: writes the replica count
 * through the `/scale` subresource, like kubectl, so only `spec.replicas` changes; mid-rollout the
 * Deployment controller spreads the change over its ReplicaSets.
 */

import { qualifiedKind } from "../../foundation/api/resources.js";
import type { Scale } from "../../proto/gen/api.js";
import { mergePatchType, resourcePath } from "../client.js";
import type { Command } from "../command.js";
import { namespaceFlag } from "../common-flags.js";
import { CliError, UsageError } from "../errors.js";
import { parseWorkload } from "../rollout/workload.js";
import { namespaceFlagValue } from "../targets.js";

export const scaleCommand: Command = {
  usage: "kctl scale deployment/NAME|replicaset/NAME --replicas N [--current-replicas M] [-n NS]",
  flags: [
    namespaceFlag,
    { name: "replicas", kind: "int", placeholder: "N", help: "the number of replicas wanted (required)" },
    {
      name: "current-replicas",
      kind: "int",
      placeholder: "M",
      help: "scale only if the current spec.replicas is M",
    },
  ],
  async run(ctx) {
    const { info, name } = parseWorkload(ctx.positionals, ["Deployment", "ReplicaSet"], "scale");
    const replicas = ctx.flags.int("replicas");
    if (replicas === undefined) throw new UsageError("--replicas is required");
    if (replicas < 0) throw new CliError(`--replicas: must be 0 or more, got ${replicas}`);
    const current = ctx.flags.int("current-replicas");
    const { client, access } = await ctx.connect();
    const namespace = namespaceFlagValue(ctx.flags, access.namespace);
    const path = resourcePath(info, namespace, name, "scale");
    const label = `${qualifiedKind(info)}/${name}`;
    if (current !== undefined) {
      // The PUT carries the version read, so a change between the check and the write is a Conflict.
      const scale = await client.request<Scale>("GET", path);
      if ((scale.spec?.replicas ?? 0) !== current) {
        throw new CliError(
          `--current-replicas: ${label} has ${scale.spec?.replicas ?? 0} replicas, not ${current}; not scaled`,
        );
      }
      await client.request("PUT", path, { body: { ...scale, spec: { ...scale.spec, replicas } } });
    } else {
      await client.request("PATCH", path, { body: { spec: { replicas } }, contentType: mergePatchType });
    }
    ctx.io.stdout.write(`${label} scaled\n`);
    return 0;
  },
};
