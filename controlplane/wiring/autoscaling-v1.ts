/**
 * autoscaling/v1 HorizontalPodAutoscalers served as a view of the stored autoscaling/v2 objects
 * (upstream stores one version and converts at the edge): get, list, create, update and delete go
 * to the registry as v2 and come back converted. JSON and Kubernetes protobuf bodies are read, since
 * `kubectl autoscale` of v1.32 posts a protobuf v1 object.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { hpaFromV1, hpaToV1 } from "../../foundation/api/autoscaling-v1.js";
import { ApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { decodeProtobufBody } from "../../foundation/api/protobuf-body.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import type { HorizontalPodAutoscaler, HorizontalPodAutoscalerV1 } from "../../proto/gen/api.js";
import type { AggregatedApi, AggregatedRoute } from "../apiserver/aggregated-api.js";
import { bodyKind, parseBody, readBody, sendJson } from "../apiserver/http-io.js";
import type { Registry } from "../registry/index.js";

const v2 = resourceForKind("autoscaling/v2", "HorizontalPodAutoscaler")!;

async function readV1(req: IncomingMessage): Promise<HorizontalPodAutoscalerV1> {
  const kind = bodyKind(req.headers["content-type"], false);
  const raw = await readBody(req);
  const obj = (
    kind === "protobuf"
      ? decodeProtobufBody(raw, (apiVersion, k) =>
          apiVersion === "autoscaling/v1" && k === "HorizontalPodAutoscaler"
            ? "HorizontalPodAutoscalerV1"
            : undefined,
        )
      : parseBody(raw, kind === "yaml")
  ) as Partial<HorizontalPodAutoscalerV1>;
  if (obj.apiVersion !== "autoscaling/v1" || obj.kind !== "HorizontalPodAutoscaler") {
    throw new ApiError(
      "BadRequest",
      `this path takes autoscaling/v1 HorizontalPodAutoscalers, not ${obj.kind ?? "(no kind)"} ${JSON.stringify(obj.apiVersion ?? "")}`,
    );
  }
  return { metadata: {}, ...obj } as HorizontalPodAutoscalerV1;
}

const asV1 = (obj: KubeObject) => hpaToV1(obj as unknown as HorizontalPodAutoscaler);

export function autoscalingV1Api(registry: Registry): AggregatedApi {
  const serve = async (
    route: AggregatedRoute,
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
  ) => {
    const ns = route.namespace;
    const dryRun = query.get("dryRun") === "All";
    const manager = query.get("fieldManager") ?? "";
    const write = { ...(dryRun ? { dryRun: true } : {}), ...(manager ? { manager } : {}) };
    const method = req.method ?? "GET";
    if (!route.name) {
      if (method === "POST") {
        const created = await registry.create(v2, hpaFromV1(await readV1(req)), {
          ...write,
          ...(ns ? { namespace: ns } : {}),
        });
        return sendJson(res, 201, asV1(created));
      }
      const list = await registry.list(v2, {
        ...(ns ? { namespace: ns } : {}),
        ...(query.get("labelSelector") ? { labelSelector: query.get("labelSelector")! } : {}),
        ...(query.get("fieldSelector") ? { fieldSelector: query.get("fieldSelector")! } : {}),
      });
      return sendJson(res, 200, {
        kind: "HorizontalPodAutoscalerList",
        apiVersion: "autoscaling/v1",
        metadata: list.metadata,
        items: list.items.map(asV1),
      });
    }
    switch (method) {
      case "PUT": {
        const stored = (await registry.get(v2, ns, route.name)) as unknown as HorizontalPodAutoscaler;
        const updated = await registry.update(
          v2,
          ns,
          route.name,
          hpaFromV1(await readV1(req), stored),
          write,
        );
        return sendJson(res, 200, asV1(updated));
      }
      case "DELETE": {
        const result = await registry.delete(v2, ns, route.name, dryRun ? { dryRun: true } : {});
        return sendJson(res, result.removed ? 200 : 202, asV1(result.object));
      }
      default:
        return sendJson(res, 200, asV1(await registry.get(v2, ns, route.name)));
    }
  };
  return {
    group: "autoscaling",
    version: "v1",
    resources: [
      {
        name: "horizontalpodautoscalers",
        singularName: "horizontalpodautoscaler",
        kind: "HorizontalPodAutoscaler",
        namespaced: true,
        shortNames: ["hpa"],
        verbs: ["create", "delete", "get", "list", "update"],
      },
    ],
    serve,
  };
}
