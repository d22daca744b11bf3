/**
 * The verbs on resource paths: list, get, create, update, patch, delete and the status, binding and
 * scale subresources, each a call into the registry. Query parameters and bodies are checked here
 * and refused with 400/405/415 and a message naming the parameter; watches are handed to
 * watch-stream.ts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { decodeMessage } from "../../foundation/api/codec.js";
import { ApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { decodeProtobufBody } from "../../foundation/api/protobuf-body.js";
import type { DeleteOptions as DeleteBody } from "../../proto/gen/api.js";
import {
  type DeleteOptions,
  evictPod,
  type ObjectList,
  type PatchType,
  type PropagationPolicy,
  type Registry,
} from "../registry/index.js";
import { type FieldCheck, fieldCheck } from "./field-validation.js";
import { bodyKind, parseBody, readBody, sendJson } from "./http-io.js";
import type { ResourceRoute } from "./request-path.js";
import { acceptedTableVersion, includeObjectParam, toTable } from "./table.js";

/** The metrics verb of a request, like Kubernetes': LIST and WATCH are GETs of a collection. */
export function requestVerb(method: string, route: ResourceRoute, query: URLSearchParams): string {
  if (method === "GET" && !route.name) return isWatch(query) ? "WATCH" : "LIST";
  return method;
}

function isWatch(query: URLSearchParams): boolean {
  const w = query.get("watch");
  return w === "true" || w === "1";
}

export async function handleResource(
  registry: Registry,
  route: ResourceRoute,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
): Promise<void> {
  const { info, namespace, name, subresource } = route;
  const method = req.method ?? "GET";
  const fields = fieldCheck(query, res, route);
  const readObject = async (r: IncomingMessage) => fields(await readObjectBody(r));
  const readPatch = (r: IncomingMessage) => readPatchBody(r, fields);
  const tableVersion =
    method === "GET" && !subresource ? acceptedTableVersion(req.headers.accept) : undefined;
  const sendTable = (objects: KubeObject[], listMeta?: ObjectList["metadata"]) =>
    sendJson(
      res,
      200,
      toTable(info, objects, {
        version: tableVersion!,
        include: includeObjectParam(query),
        now: Date.now(),
        ...(listMeta ? { listMeta } : {}),
      }),
      `application/json;as=Table;v=${tableVersion};g=meta.k8s.io`,
    );
  if (!name) {
    if (method === "GET") {
      const list = await registry.list(info, { ...listOptions(query, namespace), ...pageOptions(query) });
      if (tableVersion) return sendTable(list.items, list.metadata);
      return sendJson(res, 200, list);
    }
    if (method === "POST") {
      const body = await readObject(req);
      const created = await registry.create(info, body, {
        ...ns(namespace),
        dryRun: dryRun(query),
        manager: fieldManager(req, query),
      });
      return sendJson(res, 201, created);
    }
    throw notAllowed(method, `the collection ${info.plural}`);
  }
  const dry = { dryRun: dryRun(query) };
  // Spec writes record their fields under the manager; status and scale writes do not.
  const managed = { ...dry, manager: fieldManager(req, query) };
  switch (subresource) {
    case undefined:
      switch (method) {
        case "GET": {
          const obj = await registry.get(info, namespace, name);
          if (tableVersion) return sendTable([obj]);
          return sendJson(res, 200, obj);
        }
        case "PUT":
          return sendJson(
            res,
            200,
            await registry.update(info, namespace, name, await readObject(req), managed),
          );
        case "PATCH": {
          const { patch, type } = await readPatch(req);
          if (type === "apply") {
            const force = query.get("force") === "true";
            const manager = query.get("fieldManager") ?? "";
            return sendJson(
              res,
              200,
              await registry.apply(info, namespace, name, patch, { ...dry, manager, force }),
            );
          }
          return sendJson(res, 200, await registry.patch(info, namespace, name, patch, { ...managed, type }));
        }
        case "DELETE": {
          const result = await registry.delete(info, namespace, name, await deleteOptions(req, query));
          return sendJson(res, result.removed ? 200 : 202, result.object);
        }
      }
      throw notAllowed(method, `${info.plural}/${name}`);
    case "status":
      switch (method) {
        case "GET":
          return sendJson(res, 200, await registry.get(info, namespace, name));
        case "PUT":
          return sendJson(
            res,
            200,
            await registry.updateStatus(info, namespace, name, await readObject(req), dry),
          );
        case "PATCH": {
          const { patch, type } = await readPatch(req);
          if (type === "apply") throw applyNotServed(`${info.plural}/status`);
          return sendJson(
            res,
            200,
            await registry.patchStatus(info, namespace, name, patch, { ...dry, type }),
          );
        }
      }
      throw notAllowed(method, `${info.plural}/${name}/status`);
    case "scale":
      switch (method) {
        case "GET":
          return sendJson(res, 200, await registry.getScale(info, namespace!, name));
        case "PUT":
          return sendJson(
            res,
            200,
            await registry.updateScale(info, namespace!, name, await readObject(req), dry),
          );
        case "PATCH": {
          const { patch, type } = await readPatch(req);
          if (type === "apply") throw applyNotServed(`${info.plural}/scale`);
          return sendJson(
            res,
            200,
            await registry.patchScale(info, namespace!, name, patch, { ...dry, type }),
          );
        }
      }
      throw notAllowed(method, `${info.plural}/${name}/scale`);
    case "binding":
      if (method !== "POST") throw notAllowed(method, `${info.plural}/${name}/binding`);
      await registry.bind(namespace!, name, await readObject(req), dry);
      return sendJson(res, 201, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Success",
        code: 201,
      });
    case "eviction":
      if (method !== "POST") throw notAllowed(method, `${info.plural}/${name}/eviction`);
      await evictPod(registry, namespace!, name, await readObject(req), dry);
      return sendJson(res, 201, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Success",
        code: 201,
      });
  }
  throw new ApiError(
    "NotFound",
    `the subresource ${subresource} of ${info.plural} is not served by the apiserver`,
  );
}

export function listOptions(
  query: URLSearchParams,
  namespace: string | undefined,
): { namespace?: string; labelSelector?: string; fieldSelector?: string } {
  return {
    ...ns(namespace),
    ...(query.get("labelSelector") ? { labelSelector: query.get("labelSelector")! } : {}),
    ...(query.get("fieldSelector") ? { fieldSelector: query.get("fieldSelector")! } : {}),
  };
}

/** `limit` and `continue` of a list (chunked lists, kubectl's `--chunk-size`); BadRequest naming a bad one. */
export function pageOptions(query: URLSearchParams): { limit?: number; continue?: string } {
  const limit = query.get("limit");
  const token = query.get("continue");
  if (limit !== null && !/^\d+$/.test(limit))
    throw new ApiError(
      "BadRequest",
      `limit: invalid value ${JSON.stringify(limit)}: must be a non-negative integer`,
    );
  return {
    ...(limit ? { limit: Number(limit) } : {}),
    ...(token ? { continue: token } : {}),
  };
}

/**
 * The manager a write's fields are recorded under: its `fieldManager` parameter, or else, as
 * upstream, the client's name from its User-Agent (`kubectl/v1.32.4 (linux/amd64) ...` → `kubectl`).
 */
function fieldManager(req: IncomingMessage, query: URLSearchParams): string {
  const given = query.get("fieldManager");
  if (given) return given;
  return (req.headers["user-agent"] ?? "unknown").split("/")[0]!.trim() || "unknown";
}

function ns(namespace: string | undefined): { namespace?: string } {
  return namespace === undefined ? {} : { namespace };
}

function dryRun(query: URLSearchParams): boolean {
  const values = query.getAll("dryRun");
  return checkDryRun(values, "query parameter dryRun");
}

function checkDryRun(values: readonly string[], where: string): boolean {
  for (const v of values) {
    if (v !== "All")
      throw new ApiError(
        "BadRequest",
        `${where}: unsupported value ${JSON.stringify(v)}; only "All" is supported`,
      );
  }
  return values.length > 0;
}

async function readObjectBody(req: IncomingMessage): Promise<unknown> {
  const kind = bodyKind(req.headers["content-type"], false);
  if (kind === "protobuf") return decodeProtobufBody(await readBody(req));
  return parseBody(await readBody(req), kind === "yaml");
}

async function readPatchBody(
  req: IncomingMessage,
  fields: FieldCheck,
): Promise<{ patch: unknown; type: PatchType | "apply" }> {
  const kind = bodyKind(req.headers["content-type"], true);
  const body = parseBody(await readBody(req), kind === "apply-patch");
  // A JSON Patch's values sit under its operations, not at the object's field paths.
  if (kind === "json-patch") return { patch: body, type: "json" };
  const patch = fields(body);
  if (kind === "apply-patch") return { patch, type: "apply" };
  return { patch, type: kind === "strategic-merge-patch" ? "strategic" : "merge" };
}

const policies: readonly PropagationPolicy[] = ["Orphan", "Background", "Foreground"];

/** DeleteOptions from the body (if any) and the query; the query wins where both are given. */
async function deleteOptions(req: IncomingMessage, query: URLSearchParams): Promise<DeleteOptions> {
  const raw = await readBody(req);
  const body: DeleteBody =
    raw.toString().trim() === "" ? {} : decodeMessage<DeleteBody>("DeleteOptions", parseBody(raw, false));
  const opts: DeleteOptions = {};
  const policy =
    query.get("propagationPolicy") ??
    body.propagationPolicy ??
    (body.orphanDependents ? "Orphan" : undefined);
  if (policy !== undefined) {
    if (!policies.includes(policy as PropagationPolicy)) {
      throw new ApiError(
        "BadRequest",
        `propagationPolicy: unsupported value ${JSON.stringify(policy)}; supported values: "Orphan", "Background", "Foreground"`,
      );
    }
    opts.propagationPolicy = policy as PropagationPolicy;
  }
  const graceText = query.get("gracePeriodSeconds");
  const grace = graceText !== null ? Number(graceText) : body.gracePeriodSeconds;
  if (grace !== undefined) {
    if (!Number.isInteger(grace) || grace < 0) {
      throw new ApiError(
        "BadRequest",
        `gracePeriodSeconds: must be a non-negative integer, got ${JSON.stringify(graceText ?? grace)}`,
      );
    }
    opts.gracePeriodSeconds = grace;
  }
  if (body.preconditions) opts.preconditions = body.preconditions;
  opts.dryRun =
    checkDryRun(query.getAll("dryRun"), "query parameter dryRun") || checkDryRun(body.dryRun ?? [], "dryRun");
  return opts;
}

function applyNotServed(what: string): ApiError {
  return new ApiError(
    "UnsupportedMediaType",
    `server-side apply is served on objects, not on ${what}; send a merge, strategic merge or JSON patch`,
  );
}

function notAllowed(method: string, what: string): ApiError {
  return new ApiError("MethodNotAllowed", `the method ${method} is not supported on ${what}`);
}
