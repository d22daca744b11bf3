/**
 * The writes behind the workloads view's buttons, as kubectl makes them, so the same RBAC verbs
 * apply (patch on deployments, or on deployments/scale): a `view` user is refused every one.
 */
import type { Deployment, ReplicaSet } from "./kube-types";
import { revisionOf } from "./rollout";

export interface Write {
  method: "PATCH";
  path: string;
  contentType: string;
  body: unknown;
  /** What the confirmation dialog asks. */
  question: string;
}

const merge = "application/merge-patch+json";

function deploymentPath(d: Deployment): string {
  return `/apis/apps/v1/namespaces/${d.metadata.namespace}/deployments/${d.metadata.name}`;
}

export function scaleWrite(d: Deployment, replicas: number): Write {
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new RangeError(`replicas must be a whole number of at least 0, not ${replicas}`);
  }
  return {
    method: "PATCH",
    path: `${deploymentPath(d)}/scale`,
    contentType: merge,
    body: { spec: { replicas } },
    question: `Scale ${d.metadata.name} from ${d.spec.replicas ?? 1} to ${replicas} replicas?`,
  };
}

export function pauseWrite(d: Deployment, paused: boolean): Write {
  return {
    method: "PATCH",
    path: deploymentPath(d),
    contentType: merge,
    body: { spec: { paused } },
    question: `${paused ? "Pause" : "Resume"} the rollout of ${d.metadata.name}?`,
  };
}

/** As `kubectl rollout restart`: a new template annotation makes a new ReplicaSet. */
export function restartWrite(d: Deployment, now: Date): Write {
  return {
    method: "PATCH",
    path: deploymentPath(d),
    contentType: merge,
    body: {
      spec: {
        template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": now.toISOString() } } },
      },
    },
    question: `Restart every pod of ${d.metadata.name} (a new rollout)?`,
  };
}

/**
 * As `kubectl rollout undo`: the template of the newest ReplicaSet older than the current
 * revision, without the pod-template-hash label the controller adds. Undefined when there is none.
 */
export function undoWrite(d: Deployment, owned: readonly ReplicaSet[]): Write | undefined {
  const current = Math.max(0, ...owned.map(revisionOf));
  const previous = owned
    .filter((rs) => revisionOf(rs) < current)
    .sort((a, b) => revisionOf(b) - revisionOf(a))[0];
  if (!previous) return undefined;
  const template = structuredClone(previous.spec.template);
  if (template.metadata?.labels) delete template.metadata.labels["pod-template-hash"];
  return {
    method: "PATCH",
    path: deploymentPath(d),
    contentType: "application/json-patch+json",
    body: [{ op: "replace", path: "/spec/template", value: template }],
    question: `Roll ${d.metadata.name} back to revision ${revisionOf(previous)}?`,
  };
}
