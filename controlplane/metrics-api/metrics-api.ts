/**
 * `metrics.k8s.io/v1beta1` as metrics-server serves it: PodMetrics (namespaced) and NodeMetrics,
 * get and list, with label selectors and a `metadata.name` field selector, from the agents' usage
 * reports in the UsageStore. A pod or node has metrics once two reports about it are in; objects
 * that no longer exist (or were replaced under the same name) are not listed, as metrics-server
 * joins its scrapes with its informers.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "../../foundation/api/errors.js";
import { everything, matchesSelector, parseSelector } from "../../foundation/api/labels.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { rfc3339 } from "../../foundation/util/time.js";
import type { Node, Pod } from "../../proto/gen/api.js";
import type { AggregatedApi, AggregatedRoute } from "../apiserver/aggregated-api.js";
import { sendJson } from "../apiserver/http-io.js";
import type { DeepReadonly, Lister } from "../client/index.js";
import { formatBytes, formatDuration, formatNanoCores } from "./quantities.js";
import type { PodUsage, UsagePoint, UsageStore } from "./usage-store.js";

export const metricsGroup = "metrics.k8s.io";
export const metricsVersion = "v1beta1";
const apiVersion = `${metricsGroup}/${metricsVersion}`;

export interface MetricsApiDeps {
  usage: UsageStore;
  pods: Lister<Pod & KubeObject>;
  nodes: Lister<Node & KubeObject>;
  now: () => number;
}

const usageOf = (u: UsagePoint) => ({
  cpu: formatNanoCores(u.cpuNanoCores),
  memory: formatBytes(u.memoryBytes),
});

/** `metadata.name=x` (or `==`), the one field selector metrics-server honours; "" for none. */
function nameFromFieldSelector(text: string | null): string | undefined {
  if (!text) return undefined;
  const m = /^metadata\.name(?:==?)(.*)$/.exec(text.trim());
  if (!m) {
    throw new ApiError(
      "BadRequest",
      `fieldSelector "${text}": only metadata.name=NAME is supported for metrics.k8s.io resources`,
    );
  }
  return m[1];
}

export function metricsApi(deps: MetricsApiDeps): AggregatedApi {
  const podMetrics = (u: PodUsage, pod: DeepReadonly<Pod & KubeObject>) => ({
    kind: "PodMetrics",
    apiVersion,
    metadata: {
      name: u.name,
      namespace: u.namespace,
      creationTimestamp: rfc3339(deps.now()),
      ...(pod.metadata.labels ? { labels: pod.metadata.labels } : {}),
    },
    timestamp: rfc3339(u.timestampMs),
    window: formatDuration(u.windowMs),
    containers: u.containers.map((c) => ({ name: c.name, usage: usageOf(c.usage) })),
  });
  const nodeMetrics = (name: string, u: UsagePoint, node: DeepReadonly<Node & KubeObject>) => ({
    kind: "NodeMetrics",
    apiVersion,
    metadata: {
      name,
      creationTimestamp: rfc3339(deps.now()),
      ...(node.metadata.labels ? { labels: node.metadata.labels } : {}),
    },
    timestamp: rfc3339(u.timestampMs),
    window: formatDuration(u.windowMs),
    usage: usageOf(u),
  });

  /** The pods with metrics whose object still exists with the reported uid. */
  const livePods = (namespace: string | undefined) =>
    deps.usage.listPods(namespace).flatMap((u) => {
      const pod = deps.pods.get(`${u.namespace}/${u.name}`);
      return pod && pod.metadata.uid === u.uid ? [{ u, pod }] : [];
    });

  const serve = async (
    route: AggregatedRoute,
    _req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
  ) => {
    const selector = query.get("labelSelector") ? parseSelector(query.get("labelSelector")!) : everything;
    const fieldName = nameFromFieldSelector(query.get("fieldSelector"));
    if (route.resource === "pods") {
      const found = livePods(route.namespace).filter(
        ({ u, pod }) =>
          (route.name === undefined || u.name === route.name) &&
          (fieldName === undefined || u.name === fieldName) &&
          matchesSelector(selector, pod.metadata.labels),
      );
      if (route.name !== undefined) {
        const one = found[0];
        if (!one) throw new ApiError("NotFound", `podmetrics.${metricsGroup} "${route.name}" not found`);
        sendJson(res, 200, podMetrics(one.u, one.pod));
        return;
      }
      sendJson(res, 200, {
        kind: "PodMetricsList",
        apiVersion,
        metadata: {},
        items: found.map(({ u, pod }) => podMetrics(u, pod)),
      });
      return;
    }
    const nodes = deps.usage.listNodes().flatMap(({ name, usage }) => {
      const node = deps.nodes.get(name);
      return node ? [{ name, usage, node }] : [];
    });
    const found = nodes.filter(
      (n) =>
        (route.name === undefined || n.name === route.name) &&
        (fieldName === undefined || n.name === fieldName) &&
        matchesSelector(selector, n.node.metadata.labels),
    );
    if (route.name !== undefined) {
      const one = found[0];
      if (!one) throw new ApiError("NotFound", `nodemetrics.${metricsGroup} "${route.name}" not found`);
      sendJson(res, 200, nodeMetrics(one.name, one.usage, one.node));
      return;
    }
    sendJson(res, 200, {
      kind: "NodeMetricsList",
      apiVersion,
      metadata: {},
      items: found.map((n) => nodeMetrics(n.name, n.usage, n.node)),
    });
  };

  return {
    group: metricsGroup,
    version: metricsVersion,
    resources: [
      { name: "nodes", singularName: "", kind: "NodeMetrics", namespaced: false, verbs: ["get", "list"] },
      { name: "pods", singularName: "", kind: "PodMetrics", namespaced: true, verbs: ["get", "list"] },
    ],
    serve,
  };
}
