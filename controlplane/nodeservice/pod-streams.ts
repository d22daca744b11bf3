/**
 * `pods/log` over HTTP, proxied to the pod's node through its Tunnel: GET
 * .../pods/NAME/log?container=&follow=&tailLines=&previous=&timestamps= streams the log as
 * text/plain (what kubectl expects). pods/exec, pods/attach and pods/portforward are WebSocket/SPDY
 * upgrades (exec-websocket.ts, portforward.ts); asked without an upgrade they answer 400 as upstream does.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "../../foundation/api/errors.js";
import type { Pod } from "../../proto/gen/api.js";
import type { SubresourceHandler, SubresourceTarget } from "../apiserver/index.js";
import type { Registry } from "../registry/index.js";
import type { TunnelRegistry } from "./tunnels.js";

/** The pod a streaming request names, and the node it is bound to (BadRequest while unscheduled). */
export async function podNode(
  registry: Registry,
  target: SubresourceTarget,
): Promise<{ pod: Pod; node: string }> {
  const pod = (await registry.get(target.info, target.namespace, target.name)) as unknown as Pod;
  const node = pod.spec?.nodeName;
  if (!node) throw new ApiError("BadRequest", `pod "${target.name}" is not scheduled to a node yet`);
  return { pod, node };
}

function bool(query: URLSearchParams, name: string): boolean {
  return query.get(name) === "true" || query.get(name) === "1";
}

export function podStreamHandlers(
  registry: Registry,
  tunnels: TunnelRegistry,
): Record<"log" | "exec" | "attach" | "portforward", SubresourceHandler> {
  const log: SubresourceHandler = async (req: IncomingMessage, res: ServerResponse, target) => {
    if (req.method !== "GET") throw new ApiError("MethodNotAllowed", "pods/log supports GET only");
    const { pod, node } = await podNode(registry, target);
    const tail = target.query.get("tailLines");
    if (tail !== null && !/^\d+$/.test(tail))
      throw new ApiError("BadRequest", `tailLines must be a non-negative integer, got "${tail}"`);
    let started = false;
    await new Promise<void>((resolve, reject) => {
      const stream = tunnels.open(
        node,
        {
          logs: {
            namespace: pod.metadata.namespace ?? "",
            pod: pod.metadata.name ?? "",
            container: target.query.get("container") ?? "",
            follow: bool(target.query, "follow"),
            tailLines: tail === null ? -1 : Number(tail),
            previous: bool(target.query, "previous"),
            timestamps: bool(target.query, "timestamps"),
          },
        },
        {
          stdout: (data) => {
            if (!started) {
              started = true;
              res.writeHead(200, {
                "content-type": "text/plain; charset=utf-8",
                "transfer-encoding": "chunked",
              });
            }
            res.write(data);
          },
          stderr: () => {},
          end: (_code, err) => {
            if (err && !started) reject(err);
            else {
              if (!started) res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
              res.end();
              resolve();
            }
          },
        },
      );
      res.on("close", () => {
        stream.cancel();
        resolve();
      });
    });
  };

  // exec, attach and portforward are upgrades (exec-websocket.ts, portforward.ts); a plain request gets
  // upstream's answer.
  const upgradeRequired: SubresourceHandler = async () => {
    throw new ApiError("BadRequest", "Upgrade request required");
  };
  return { log, exec: upgradeRequired, attach: upgradeRequired, portforward: upgradeRequired };
}
