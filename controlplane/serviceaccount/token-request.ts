/**
 * The TokenRequest API, `POST serviceaccounts/NAME/token` (what `kubectl create token` and the node
 * agents call): a token for the ServiceAccount, for the audiences asked (the apiserver's own by
 * default), for the lifetime asked (an hour by default, at least ten minutes), optionally bound to
 * a pod of that account, in which case it also names the pod's node and dies with the pod.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { decodeMessage } from "../../foundation/api/codec.js";
import { ApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { decodeProtobufBody } from "../../foundation/api/protobuf-body.js";
import type { DeepReadonly } from "../../foundation/api/readonly.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { rfc3339 } from "../../foundation/util/time.js";
import type { BoundObjectReference, Pod, ServiceAccount, TokenRequest } from "../../proto/gen/api.js";
import { bodyKind, parseBody, readBody, sendJson } from "../apiserver/http-io.js";
import type { SubresourceHandler } from "../apiserver/index.js";
import type { Registry } from "../registry/index.js";
import {
  type BoundObject,
  defaultExpirationSeconds,
  minExpirationSeconds,
  type TokenSigner,
} from "./tokens.js";

const serviceAccounts = resourceForKind("v1", "ServiceAccount")!;
const pods = resourceForKind("v1", "Pod")!;
const nodes = resourceForKind("v1", "Node")!;
const maxExpirationSeconds = 2 ** 32;

export interface TokenIssuerOptions {
  registry: Registry;
  signer: TokenSigner;
  audiences: readonly string[];
  now?: () => number;
}

export interface IssuedToken {
  token: string;
  expirationTimestamp: string;
}

function invalid(name: string, field: string, message: string): ApiError {
  return new ApiError(
    "Invalid",
    `TokenRequest.authentication.k8s.io "${name}" is invalid: ${field}: ${message}`,
    {
      name,
      group: "authentication.k8s.io",
      kind: "TokenRequest",
      causes: [{ field, reason: "FieldValueInvalid", message }],
    },
  );
}

/**
 * Objects the caller already holds (its informers' copies), each used instead of a read only when
 * it is the very object the request names: the bound pod by name and uid, that pod's node by name.
 */
export interface KnownObjects {
  pod?: DeepReadonly<Pod>;
  node?: DeepReadonly<KubeObject>;
}

/** Issues a token for `namespace/name` as `request.spec` asks; ApiErrors for what upstream refuses. */
export async function issueToken(
  opts: TokenIssuerOptions,
  namespace: string,
  name: string,
  request: TokenRequest,
  known: KnownObjects = {},
): Promise<IssuedToken> {
  const sa = (await opts.registry.get(serviceAccounts, namespace, name)) as ServiceAccount;
  const spec = request.spec ?? {};
  const expirationSeconds = spec.expirationSeconds ?? defaultExpirationSeconds;
  if (expirationSeconds < minExpirationSeconds)
    throw invalid(
      name,
      "spec.expirationSeconds",
      `Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes`,
    );
  if (expirationSeconds > maxExpirationSeconds)
    throw invalid(
      name,
      "spec.expirationSeconds",
      `Invalid value: ${expirationSeconds}: may not specify a duration larger than 2^32 seconds`,
    );
  const audiences = spec.audiences?.length ? spec.audiences : opts.audiences;
  const bound = spec.boundObjectRef
    ? await boundPod(opts.registry, namespace, name, spec.boundObjectRef, known)
    : {};
  const nowMs = (opts.now ?? Date.now)();
  const { token, claims } = opts.signer.issue({
    namespace,
    serviceAccount: { name, uid: sa.metadata.uid! },
    ...bound,
    audiences,
    expirationSeconds,
    nowMs,
  });
  return { token, expirationTimestamp: rfc3339(claims.exp * 1000) };
}

/** The pod a token is bound to, and its node, checked against the account the token is for. */
async function boundPod(
  registry: Registry,
  namespace: string,
  account: string,
  ref: BoundObjectReference,
  known: KnownObjects,
): Promise<{ pod: BoundObject; node?: BoundObject }> {
  if (ref.kind !== "Pod" || (ref.apiVersion && ref.apiVersion !== "v1")) {
    throw invalid(
      account,
      "spec.boundObjectRef.kind",
      `Unsupported value: ${JSON.stringify(ref.kind ?? "")}: supported values: "Pod"`,
    );
  }
  const held = known.pod;
  const pod: DeepReadonly<Pod> =
    held && held.metadata.name === ref.name && ref.uid && held.metadata.uid === ref.uid
      ? held
      : ((await registry.get(pods, namespace, ref.name ?? "")) as Pod);
  if (ref.uid && ref.uid !== pod.metadata.uid) {
    throw new ApiError(
      "Conflict",
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
    );
  }
  if ((pod.spec?.serviceAccountName ?? "default") !== account) {
    throw new ApiError(
      "BadRequest",
      `cannot bind token for serviceaccount "${account}" to pod running with different serviceaccount name.`,
    );
  }
  const out: { pod: BoundObject; node?: BoundObject } = {
    pod: { name: pod.metadata.name!, uid: pod.metadata.uid! },
  };
  const nodeName = pod.spec?.nodeName;
  if (nodeName) {
    const node =
      known.node?.metadata.name === nodeName
        ? known.node
        : await registry.get(nodes, undefined, nodeName).catch(() => undefined);
    if (node) out.node = { name: nodeName, uid: node.metadata.uid! };
  }
  return out;
}

/** The `serviceaccounts/token` subresource handler for the apiserver. */
export function tokenRequestHandler(opts: TokenIssuerOptions): SubresourceHandler {
  return async (req: IncomingMessage, res: ServerResponse, target) => {
    if (req.method !== "POST") {
      throw new ApiError("MethodNotAllowed", `${req.method} is not supported on serviceaccounts/token`);
    }
    const raw = await readBody(req);
    const kind = bodyKind(req.headers["content-type"], false);
    const body = kind === "protobuf" ? decodeProtobufBody(raw) : parseBody(raw, kind === "yaml");
    const request = decodeMessage<TokenRequest>("TokenRequest", body);
    const issued = await issueToken(opts, target.namespace!, target.name, request);
    sendJson(res, 201, {
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { name: target.name, namespace: target.namespace, creationTimestamp: null },
      spec: {
        ...request.spec,
        audiences: request.spec?.audiences?.length ? request.spec.audiences : opts.audiences,
      },
      status: issued,
    });
  };
}
