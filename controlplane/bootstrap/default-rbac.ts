/**
 * The default ClusterRoles and ClusterRoleBindings, as upstream's bootstrap policy names them,
 * reconciled at every start: missing ones are created, and ones whose rules or subjects differ are
 * put back, unless an admin set `rbac.authorization.kubernetes.io/autoupdate: "false"` on them.
 * Aggregation is not served: `admin`, `edit` and `view` list their rules outright.
 */

import { isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import type { ClusterRole, ClusterRoleBinding, PolicyRule } from "../../proto/gen/api.js";
import { authenticatedGroup, mastersGroup } from "../apiserver/authorization.js";
import type { Registry } from "../registry/index.js";

const clusterRoles = resourceForKind("rbac.authorization.k8s.io/v1", "ClusterRole")!;
const clusterRoleBindings = resourceForKind("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")!;
const autoupdate = "rbac.authorization.kubernetes.io/autoupdate";
const rbacGroup = "rbac.authorization.k8s.io";

/** The users the in-process scheduler and controllers are, as the authorizer knows them. */
export const schedulerUser = "system:kube-scheduler";
export const controllerManagerUser = "system:kube-controller-manager";

const read = ["get", "list", "watch"];
const write = ["create", "delete", "deletecollection", "patch", "update"];
const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
});
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ verbs, nonResourceURLs });

const metricsReaderRules: PolicyRule[] = [rule(read, ["metrics.k8s.io"], ["pods", "nodes"])];

const viewRules: PolicyRule[] = [
  rule(
    read,
    [""],
    [
      "configmaps",
      "endpoints",
      "events",
      "pods",
      "pods/log",
      "pods/status",
      "serviceaccounts",
      "services",
      "services/status",
      "namespaces",
      "namespaces/status",
      "persistentvolumeclaims",
      "persistentvolumeclaims/status",
    ],
  ),
  rule(
    read,
    ["apps"],
    [
      "controllerrevisions",
      "daemonsets",
      "daemonsets/status",
      "deployments",
      "deployments/scale",
      "deployments/status",
      "replicasets",
      "replicasets/scale",
      "replicasets/status",
      "statefulsets",
      "statefulsets/scale",
      "statefulsets/status",
    ],
  ),
  rule(read, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
  rule(read, ["coordination.k8s.io"], ["leases"]),
  rule(read, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
  // What metrics-server's system:aggregated-metrics-reader aggregates into view, edit and admin.
  ...metricsReaderRules,
  rule(read, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
  rule(read, ["discovery.k8s.io"], ["endpointslices"]),
  rule(read, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
];

const editRules: PolicyRule[] = [
  ...viewRules,
  rule(read, [""], ["secrets"]),
  rule(
    write,
    [""],
    [
      "pods",
      "pods/exec",
      "pods/attach",
      "pods/portforward",
      "configmaps",
      "endpoints",
      "secrets",
      "serviceaccounts",
      "services",
      "events",
    ],
  ),
  rule(["create"], [""], ["serviceaccounts/token", "pods/eviction"]),
  rule(
    write,
    ["apps"],
    [
      "daemonsets",
      "deployments",
      "deployments/scale",
      "replicasets",
      "replicasets/scale",
      "statefulsets",
      "statefulsets/scale",
    ],
  ),
  rule(write, ["batch"], ["cronjobs", "jobs"]),
  rule(write, [""], ["persistentvolumeclaims"]),
  rule(write, ["coordination.k8s.io"], ["leases"]),
  rule(write, ["autoscaling"], ["horizontalpodautoscalers"]),
  rule(write, ["policy"], ["poddisruptionbudgets"]),
  rule(write, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
];

const adminRules: PolicyRule[] = [
  ...editRules,
  rule([...read, ...write], [rbacGroup], ["roles", "rolebindings"]),
];

export const defaultClusterRoles: Record<string, PolicyRule[]> = {
  "cluster-admin": [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])],
  admin: adminRules,
  edit: editRules,
  view: viewRules,
  "system:aggregated-metrics-reader": metricsReaderRules,
  "system:discovery": [
    urls(["get"], ["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/"]),
  ],
  "system:public-info-viewer": [urls(["get"], ["/healthz", "/livez", "/readyz", "/version", "/version/"])],
  "system:basic-user": [
    rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
  ],
  [schedulerUser]: [
    rule(read, [""], ["nodes", "pods", "namespaces", "services"]),
    rule(["create"], [""], ["pods/binding", "bindings"]),
    rule(["patch", "update"], [""], ["pods/status"]),
    rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]),
    rule(["create", "get", "update"], ["coordination.k8s.io"], ["leases"]),
    // upstream's system:volume-scheduler: WaitForFirstConsumer claims get their selected node.
    rule([...read, "patch", "update"], [""], ["persistentvolumes", "persistentvolumeclaims"]),
    rule(read, ["storage.k8s.io"], ["storageclasses"]),
  ],
  [controllerManagerUser]: [
    rule([...read, ...write], ["", "apps", "autoscaling", "batch", "policy"], ["*"]),
    rule(read, ["storage.k8s.io"], ["storageclasses"]),
    rule([...read, ...write], ["coordination.k8s.io"], ["leases"]),
    rule([...read, ...write], ["discovery.k8s.io"], ["endpointslices"]),
  ],
};

const group = (name: string) => ({ kind: "Group", apiGroup: rbacGroup, name });
const user = (name: string) => ({ kind: "User", apiGroup: rbacGroup, name });

export const defaultClusterRoleBindings: Record<string, NonNullable<ClusterRoleBinding["subjects"]>> = {
  "cluster-admin": [group(mastersGroup)],
  "system:discovery": [group(authenticatedGroup)],
  "system:public-info-viewer": [group(authenticatedGroup)],
  "system:basic-user": [group(authenticatedGroup)],
  [schedulerUser]: [user(schedulerUser)],
  [controllerManagerUser]: [user(controllerManagerUser)],
};

const bootstrapping = { "kubernetes.io/bootstrapping": "rbac-defaults" };

async function reconcile(
  registry: Registry,
  info: typeof clusterRoles,
  want: KubeObject,
  same: (old: KubeObject) => boolean,
): Promise<void> {
  try {
    await registry.create(info, want);
    return;
  } catch (err) {
    if (!isApiError(err, "AlreadyExists")) throw err;
  }
  const old = await registry.get(info, undefined, want.metadata.name!);
  if (old.metadata.annotations?.[autoupdate] === "false" || same(old)) return;
  await registry.update(info, undefined, want.metadata.name!, {
    ...want,
    metadata: { ...old.metadata, labels: { ...old.metadata.labels, ...bootstrapping } },
  });
}

/** Creates or restores the default roles and bindings. */
export async function reconcileDefaultRbac(registry: Registry): Promise<void> {
  const meta = (name: string) => ({ name, labels: bootstrapping, annotations: { [autoupdate]: "true" } });
  for (const [name, rules] of Object.entries(defaultClusterRoles)) {
    const role: ClusterRole & KubeObject = {
      apiVersion: `${rbacGroup}/v1`,
      kind: "ClusterRole",
      metadata: meta(name),
      rules,
    };
    await reconcile(
      registry,
      clusterRoles,
      role,
      (old) => JSON.stringify((old as ClusterRole).rules ?? []) === JSON.stringify(rules),
    );
  }
  for (const [name, subjects] of Object.entries(defaultClusterRoleBindings)) {
    const binding: ClusterRoleBinding & KubeObject = {
      apiVersion: `${rbacGroup}/v1`,
      kind: "ClusterRoleBinding",
      metadata: meta(name),
      roleRef: { apiGroup: rbacGroup, kind: "ClusterRole", name },
      subjects,
    };
    await reconcile(
      registry,
      clusterRoleBindings,
      binding,
      (old) => JSON.stringify((old as ClusterRoleBinding).subjects ?? []) === JSON.stringify(subjects),
    );
  }
}
