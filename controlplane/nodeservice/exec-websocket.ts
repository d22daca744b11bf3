/**
 * `pods/exec` and `pods/attach` over WebSocket, as kubectl (1.30+) speaks them by default: subprotocol
 * `v5.channel.k8s.io` (or `v4.channel.k8s.io`), binary messages whose first byte is the channel —
 * 0 stdin, 1 stdout, 2 stderr, 3 error (the final Status: Success, or NonZeroExitCode with the code
 * as an ExitCode cause), 4 resize; in v5 the client closes its stdin with the message [255, 0].
 * The command runs through the node's tunnel; a client that goes away cancels it there.
 *
 * Attach delivers the container's stdout and stderr from the moment of attaching until it exits
 * (the node follows its log); with `stdin=true` the client's stdin goes to the container's, which
 * needs `stdin: true` in its spec (otherwise its stdin is /dev/null and the request is refused
 * before the upgrade).
 *
 * Exec with `tty=true` runs the command on a pseudo-terminal (its output comes on stdout) and
 * forwards resize messages ({"Width":W,"Height":H}) to it; resize messages that do not parse as that
 * are dropped, as the kubelet drops them, and so are resizes of an exec without a TTY.
 * Flow control is the WebSocket's: output is sent as the node produces it.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { ApiError } from "../../foundation/api/errors.js";
import type { Pod } from "../../proto/gen/api.js";
import type { TerminalSize } from "../../proto/gen/node.js";
import type { UpgradeHandler } from "../apiserver/index.js";
import type { Registry } from "../registry/index.js";
import type { TunnelRegistry } from "./tunnels.js";

export const execSubprotocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;

const channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** The final message of the error channel, as upstream writes it. */
export function exitStatus(exitCode: number, error?: ApiError): Record<string, unknown> {
  if (error) return error.toStatus() as unknown as Record<string, unknown>;
  if (exitCode === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: exit status ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

/** A resize message's size, or undefined when it is not {"Width":W,"Height":H} in 0..65535. */
export function terminalSize(body: Buffer): TerminalSize | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  const { Width: width, Height: height } = (parsed ?? {}) as Record<string, unknown>;
  const cells = (n: unknown): n is number =>
    Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 65535;
  return cells(width) && cells(height) ? { width, height } : undefined;
}

/** The subprotocol to speak: the first of the client's offers this server knows. */
export function pickSubprotocol(header: string | undefined): string | undefined {
  const offered = (header ?? "").split(",").map((p) => p.trim());
  return execSubprotocols.find((p) => offered.includes(p));
}

/** Serves pods/exec (`kind` "exec") or pods/attach ("attach"). */
export function execWebSocketHandler(
  registry: Registry,
  tunnels: TunnelRegistry,
  kind: "exec" | "attach" = "exec",
): UpgradeHandler {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => pickSubprotocol([...offered].join(",")) ?? false,
  });
  return async (req: IncomingMessage, socket: Duplex, head: Buffer, target) => {
    // Checked first: kubectl retries a refused WebSocket over SPDY, and this is the reason to show.
    const flag = (name: string) => target.query.get(name) === "true" || target.query.get(name) === "1";
    const stdin = flag("stdin");
    const tty = kind === "exec" && flag("tty");
    const pod = (await registry.get(target.info, target.namespace, target.name)) as unknown as Pod;
    if (kind === "attach" && stdin) {
      const name = target.query.get("container") || pod.spec?.containers?.[0]?.name;
      const container = pod.spec?.containers?.find((c) => c.name === name);
      if (container && !container.stdin)
        throw new ApiError(
          "BadRequest",
          `container "${name}" in pod "${target.name}" was created without stdin: true, so its stdin is /dev/null and cannot be attached; attach without -i to follow its output`,
        );
    }
    const protocol = pickSubprotocol(req.headers["sec-websocket-protocol"]);
    if (!protocol) {
      if ((req.headers.upgrade ?? "").toLowerCase() !== "websocket")
        throw new ApiError(
          "BadRequest",
          `${kind} is served over WebSocket only (${execSubprotocols.join(", ")}), not SPDY`,
        );
      throw new ApiError(
        "BadRequest",
        `unsupported WebSocket subprotocol ${JSON.stringify(req.headers["sec-websocket-protocol"] ?? "")}; this server speaks ${execSubprotocols.join(", ")}`,
      );
    }
    const command = target.query.getAll("command");
    if (kind === "exec" && command.length === 0)
      throw new ApiError("BadRequest", "exec needs at least one command parameter");
    const node = pod.spec?.nodeName;
    if (!node) throw new ApiError("BadRequest", `pod "${target.name}" is not scheduled to a node yet`);
    const where = {
      namespace: pod.metadata.namespace ?? "",
      pod: pod.metadata.name ?? "",
      container: target.query.get("container") ?? "",
    };
    const ws = await new Promise<WebSocket>((resolve) => wss.handleUpgrade(req, socket, head, resolve));
    const send = (ch: number, data: Buffer) => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([ch]), data]));
    };
    let stream: ReturnType<TunnelRegistry["open"]>;
    try {
      stream = tunnels.open(
        node,
        kind === "exec" ? { exec: { ...where, command, stdin, tty } } : { attach: { ...where, stdin } },
        {
          stdout: (data) => send(channel.stdout, data),
          stderr: (data) => send(channel.stderr, data),
          end: (exitCode, err) => {
            send(channel.error, Buffer.from(JSON.stringify(exitStatus(exitCode, err))));
            ws.close(1000);
          },
        },
      );
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : new ApiError("InternalError", String(err));
      send(channel.error, Buffer.from(JSON.stringify(exitStatus(1, apiErr))));
      ws.close(1000);
      return;
    }
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      const bytes = isBinary ? data : Buffer.from(data);
      if (bytes.length === 0) return;
      if (bytes[0] === channel.stdin && stdin) stream.stdin(bytes.subarray(1));
      else if (bytes[0] === channel.close && bytes[1] === channel.stdin) stream.stdin(undefined);
      else if (bytes[0] === channel.resize && tty) {
        const size = terminalSize(bytes.subarray(1));
        if (size) stream.resize(size);
      }
    });
    ws.on("close", () => stream.cancel());
  };
}
