/**
 * `kctl exec POD [-c CONTAINER] [-i] -- CMD [ARG...]`: runs a command in a container, with its
 * stdout and stderr here and, with -i, this terminal's stdin there; exits with the command's code.
 */
import { ApiError, type Status } from "../../controlplane/api/errors.js";
import { resourceForKind } from "../../controlplane/api/resources.js";
import { resourcePath } from "../client.js";
import type { Command } from "../command.js";
import { containerFlag, namespaceFlag } from "../common-flags.js";
import { UsageError } from "../errors.js";
import { namespaceFlagValue, podNameArg } from "../targets.js";

const pods = resourceForKind("v1", "Pod")!;

interface Frame {
  stdout?: string;
  stderr?: string;
  exitCode?: number;
  error?: Status;
}

export const execCommand: Command = {
  name: "exec",
  summary: "Run a command in a container",
  usage: "kctl exec POD [-c CONTAINER] [-i] [-n NS] -- CMD [ARG...]",
  flags: [
    namespaceFlag,
    containerFlag,
    { name: "stdin", short: "i", kind: "boolean", help: "pass stdin to the command" },
  ],
  async run(ctx) {
    const [name, ...command] = ctx.positionals;
    if (!name || command.length === 0)
      throw new UsageError("kctl exec needs a pod and a command: kctl exec POD -- CMD");
    const podName = podNameArg(name);
    const { client, access } = await ctx.connect();
    const ns = namespaceFlagValue(ctx.flags, access.namespace);
    const stdin = ctx.flags.bool("stdin");
    const res = await client.stream("POST", resourcePath(pods, ns, podName, "exec"), {
      query: { command, container: ctx.flags.string("container"), stdin: stdin ? "true" : undefined },
      ...(stdin ? { bodyStream: ctx.io.stdin } : {}),
    });
    let pending = "";
    let exitCode = 1;
    for await (const chunk of res) {
      pending += (chunk as Buffer).toString();
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        const frame = JSON.parse(pending.slice(0, nl)) as Frame;
        pending = pending.slice(nl + 1);
        nl = pending.indexOf("\n");
        if (frame.stdout) ctx.io.stdout.write(Buffer.from(frame.stdout, "base64"));
        if (frame.stderr) ctx.io.stderr.write(Buffer.from(frame.stderr, "base64"));
        if (frame.error) throw ApiError.fromStatus(frame.error, 500);
        if (frame.exitCode !== undefined) exitCode = frame.exitCode;
      }
    }
    return exitCode;
  },
};
