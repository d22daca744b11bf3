/**
 * `kctl exec POD [-c CONTAINER] [-i] -- CMD [ARG...]`: runs a command in a container, with its
 * stdout and stderr here and, with -i, this terminal's stdin there; exits with the command's code.
 * Speaks kubectl's protocol: pods/exec over a WebSocket, subprotocol `v5.channel.k8s.io`.
 */
import { ApiError, type Status } from "../../foundation/api/errors.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { ChannelSocket } from "../channel-socket.js";
import { resourcePath } from "../client.js";
import type { Command } from "../command.js";
import { containerFlag, namespaceFlag } from "../common-flags.js";
import { UsageError } from "../errors.js";
import { namespaceFlagValue, podNameArg } from "../targets.js";

const pods = resourceForKind("v1", "Pod")!;
const channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, close: 255 } as const;

/** The exit code the final Status carries: 0 on Success, the ExitCode cause on NonZeroExitCode. */
export function exitCodeOf(status: Status | undefined): number {
  if (!status) throw new ApiError("InternalError", "the exec stream ended without a status");
  if (status.status === "Success") return 0;
  const code = status.details?.causes?.find((c) => c.reason === "ExitCode")?.message;
  if ((status.reason as string | undefined) === "NonZeroExitCode" && code !== undefined && /^\d+$/.test(code))
    return Number(code);
  throw ApiError.fromStatus(status, status.code ?? 500);
}

export const execCommand: Command = {
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
    const socket = new ChannelSocket(
      await client.openWebSocket(
        resourcePath(pods, ns, podName, "exec"),
        {
          command,
          container: ctx.flags.string("container"),
          stdin: stdin ? "true" : undefined,
          stdout: "true",
          stderr: "true",
        },
        ["v5.channel.k8s.io"],
      ),
    );
    let status: Status | undefined;
    socket.onMessage((ch, data) => {
      if (ch === channel.stdout) ctx.io.stdout.write(data);
      else if (ch === channel.stderr) ctx.io.stderr.write(data);
      else if (ch === channel.error) status = JSON.parse(data.toString()) as Status;
    });
    if (stdin) void pumpStdin(ctx.io.stdin, socket);
    await socket.closed;
    return exitCodeOf(status);
  },
};

/** Sends stdin a chunk at a time, each after the last was written, then closes the command's stdin. */
async function pumpStdin(input: NodeJS.ReadableStream, socket: ChannelSocket): Promise<void> {
  for await (const chunk of input) {
    await socket.send(channel.stdin, typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  }
  await socket.send(channel.close, Buffer.from([channel.stdin]));
}
