/**
 * `authorization.k8s.io/v1` SelfSubjectAccessReview and SelfSubjectRulesReview, which `kubectl auth
 * can-i` and `kubectl auth can-i --list` create: "may I do this?" and "what may I do in this
 * namespace?", answered for the caller by the same authorizer as its requests. Nothing is stored.
 * Served as extra routes, so every authenticated user reaches them (upstream's `system:basic-user`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "../../foundation/api/errors.js";
import type { PolicyRule } from "../../proto/gen/api.js";
import type { DeepReadonly } from "../client/index.js";
import {
  type Authorizer,
  mastersGroup,
  type RequestAttributes,
  withAuthenticatedGroup,
} from "./authorization.js";
import { parseBody, readBody, sendJson } from "./http-io.js";
import { decodeReview, isProtobufEnvelope } from "./review-protobuf.js";
import type { ExtraRouteHandler, User } from "./server.js";

const base = "/apis/authorization.k8s.io/v1";
export const accessReviewPath = `${base}/selfsubjectaccessreviews`;
export const rulesReviewPath = `${base}/selfsubjectrulesreviews`;

export interface AccessReviewDeps {
  authorize: Authorizer;
  /** The rules that apply to a user in a namespace (cluster-wide ones included). */
  rules(user: string, groups: readonly string[], namespace: string): DeepReadonly<PolicyRule>[];
}

interface Review {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown>;
  spec?: {
    resourceAttributes?: {
      namespace?: string;
      verb?: string;
      group?: string;
      resource?: string;
      subresource?: string;
      name?: string;
    };
    nonResourceAttributes?: { path?: string; verb?: string };
    namespace?: string;
  };
}

async function readReview(req: IncomingMessage, kind: string): Promise<Review> {
  if (req.method !== "POST") throw new ApiError("MethodNotAllowed", `${kind} supports only create (POST)`);
  const body = await readBody(req);
  const review = (isProtobufEnvelope(body) ? decodeReview(body) : parseBody(body, false)) as Review | null;
  if (!review || typeof review !== "object") throw new ApiError("BadRequest", `the body must be a ${kind}`);
  return review;
}

function reviewAttributes(user: User, spec: Review["spec"]): RequestAttributes {
  const groups = withAuthenticatedGroup(user);
  const r = spec?.resourceAttributes;
  if (r) {
    if (!r.verb || !r.resource) {
      throw new ApiError("Invalid", "spec.resourceAttributes: verb and resource are required");
    }
    return {
      user: user.name,
      groups,
      verb: r.verb,
      resource: {
        apiGroup: r.group ?? "",
        resource: r.resource,
        ...(r.subresource ? { subresource: r.subresource } : {}),
        ...(r.namespace ? { namespace: r.namespace } : {}),
        ...(r.name ? { name: r.name } : {}),
      },
      path: "",
    };
  }
  const n = spec?.nonResourceAttributes;
  if (!n?.path || !n.verb) {
    throw new ApiError(
      "Invalid",
      "spec: exactly one of resourceAttributes (verb, resource) or nonResourceAttributes (path, verb) is required",
    );
  }
  return { user: user.name, groups, verb: n.verb, path: n.path };
}

export function accessReviewRoutes(deps: AccessReviewDeps): Record<string, ExtraRouteHandler> {
  return {
    [accessReviewPath]: async (req: IncomingMessage, res: ServerResponse, user: User) => {
      const review = await readReview(req, "SelfSubjectAccessReview");
      const attrs = reviewAttributes(user, review.spec);
      const decision = attrs.groups.includes(mastersGroup) ? { allowed: true } : deps.authorize(attrs);
      sendJson(res, 201, {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        metadata: { creationTimestamp: null },
        spec: review.spec,
        status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
      });
    },
    [rulesReviewPath]: async (req: IncomingMessage, res: ServerResponse, user: User) => {
      const review = await readReview(req, "SelfSubjectRulesReview");
      const namespace = review.spec?.namespace;
      if (!namespace) throw new ApiError("Invalid", "spec.namespace: Required value");
      const rules = deps.rules(user.name, withAuthenticatedGroup(user), namespace);
      sendJson(res, 201, {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectRulesReview",
        metadata: { creationTimestamp: null },
        spec: review.spec,
        status: {
          resourceRules: rules
            .filter((r) => !r.nonResourceURLs?.length)
            .map((r) => ({
              verbs: r.verbs ?? [],
              apiGroups: r.apiGroups ?? [],
              resources: r.resources ?? [],
              ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
            })),
          nonResourceRules: rules
            .filter((r) => r.nonResourceURLs?.length)
            .map((r) => ({ verbs: r.verbs ?? [], nonResourceURLs: r.nonResourceURLs ?? [] })),
          incomplete: false,
        },
      });
    },
  };
}
