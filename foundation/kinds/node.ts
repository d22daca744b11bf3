/** Node: a host running an agent; the agent registers it with its status and keeps that status. */

import type { Node } from "../../proto/gen/api.js";
import { validateNode } from "../api/validation/cluster.js";
import { created, none } from "../printers/cells.js";
import { conditions } from "../printers/describe-sections.js";
import { defineKind } from "./kind.js";

function nodeStatus(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  const parts = [ready?.status === "True" ? "Ready" : ready?.status === "False" ? "NotReady" : "Unknown"];
  if (node.spec?.unschedulable) parts.push("SchedulingDisabled");
  return parts.join(",");
}

function nodeRoles(node: Node): string {
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((k) => k.startsWith("node-role.kubernetes.io/"))
    .map((k) => k.slice("node-role.kubernetes.io/".length))
    .filter(Boolean)
    .sort();
  return roles.join(",") || none;
}

function nodeAddress(node: Node, type: string): string {
  return node.status?.addresses?.find((a) => a.type === type)?.address ?? none;
}

export const nodeKind = defineKind<Node>({
  resource: {
    group: "",
    version: "v1",
    kind: "Node",
    plural: "nodes",
    singular: "node",
    shortNames: ["no"],
    namespaced: false,
    subresources: ["status"],
    message: "kctl.api.Node",
    hasStatus: true,
  },
  validate: (c, node) => validateNode(c, node),
  // The agent registers its node with status, so what it sends is kept.
  initialStatus: (node) => node.status,
  columns: {
    headers: ["STATUS", "ROLES", "AGE", "VERSION"],
    wideHeaders: ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"],
    cells: (n, now) => [
      nodeStatus(n),
      nodeRoles(n),
      created(n, now),
      n.status?.nodeInfo?.kubeletVersion || "",
    ],
    wideCells: (n) => {
      const info = n.status?.nodeInfo ?? {};
      return [
        nodeAddress(n, "InternalIP"),
        nodeAddress(n, "ExternalIP"),
        info.osImage || "<unknown>",
        info.kernelVersion || "<unknown>",
        info.containerRuntimeVersion || "<unknown>",
      ];
    },
  },
  describe: (w, node) => {
    const roles = Object.keys(node.metadata.labels ?? {})
      .filter((k) => k.startsWith("node-role.kubernetes.io/"))
      .map((k) => k.split("/")[1]);
    w.field(0, "Roles", roles.join(","));
    w.field(
      0,
      "Taints",
      (node.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`).join("\n"),
    );
    w.field(0, "Unschedulable", node.spec?.unschedulable ? "true" : "false");
    conditions(w, node.status?.conditions, true);
    w.field(0, "Addresses", (node.status?.addresses ?? []).map((a) => `${a.type}: ${a.address}`).join("\n"));
    w.map(0, "Capacity", node.status?.capacity, ": ");
    w.map(0, "Allocatable", node.status?.allocatable, ": ");
    const info = node.status?.nodeInfo;
    if (info) {
      w.section(0, "System Info");
      w.field(2, "Kernel Version", info.kernelVersion);
      w.field(2, "OS Image", info.osImage);
      w.field(2, "Operating System", info.operatingSystem);
      w.field(2, "Architecture", info.architecture);
      w.field(2, "Container Runtime Version", info.containerRuntimeVersion);
      w.field(2, "Kubelet Version", info.kubeletVersion);
    }
    w.field(0, "PodCIDR", node.spec?.podCIDR);
  },
});
