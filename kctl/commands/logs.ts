/** `kctl logs POD [-c CONTAINER] [-f] [--tail N] [--previous] [--timestamps]`: a container's output, from its node. */
import { resourceForKind } from "../../foundation/api/resources.js";
import { resourcePath } from "../client.js";
import type { Command } from "../command.js";
import { containerFlag, namespaceFlag } from "../common-flags.js";
import { UsageError } from "../errors.js";
import { namespaceFlagValue, podNameArg } from "../targets.js";

const pods = resourceForKind("v1", "Pod")!;

export const logsCommand: Command = {
  usage: "kctl logs POD [-c CONTAINER] [-f] [--tail N] [--previous] [--timestamps] [-n NS]",
  flags: [
    namespaceFlag,
    containerFlag,
    { name: "follow", short: "f", kind: "boolean", help: "keep printing as the container writes" },
    { name: "tail", kind: "int", placeholder: "N", help: "only the last N lines" },
    {
      name: "previous",
      short: "p",
      kind: "boolean",
      help: "the previous, terminated instance of the container",
    },
    { name: "timestamps", kind: "boolean", help: "prefix each line with its RFC 3339 timestamp" },
  ],
  async run(ctx) {
    const [name, ...rest] = ctx.positionals;
    if (!name || rest.length) throw new UsageError("kctl logs takes exactly one pod name");
    const podName = podNameArg(name);
    const tail = ctx.flags.int("tail");
    if (tail !== undefined && tail < 0) throw new UsageError(`--tail must be >= 0 (got ${tail})`);
    const { client, access } = await ctx.connect();
    const ns = namespaceFlagValue(ctx.flags, access.namespace);
    const res = await client.stream("GET", resourcePath(pods, ns, podName, "log"), {
      query: {
        container: ctx.flags.string("container"),
        follow: ctx.flags.bool("follow") ? "true" : undefined,
        tailLines: tail === undefined ? undefined : String(tail),
        previous: ctx.flags.bool("previous") ? "true" : undefined,
        timestamps: ctx.flags.bool("timestamps") ? "true" : undefined,
      },
    });
    try {
      for await (const chunk of res) ctx.io.stdout.write(chunk as Buffer);
    } catch (err) {
      if (!ctx.io.signal.aborted) throw err;
    }
    return 0;
  },
};
