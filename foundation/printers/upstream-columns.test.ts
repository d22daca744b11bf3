/**
 * Golden comparison of every served kind's Table columns with upstream's: the column definitions
 * of kube-apiserver v1.32 (pkg/printers/internalversion/printers.go, `AddHandlers`; Role and
 * ClusterRole have no printer there and get the default convertor's Name and Created At). Names
 * are as kubectl prints them (upper case); `*` marks a priority-1 column (`-o wide` only).
 */
import { describe, expect, it } from "vitest";
import { resources } from "../api/resources.js";
import { tableColumns } from "./columns.js";

const templateWide = ["CONTAINERS*", "IMAGES*", "SELECTOR*"];
const bindingWide = ["USERS*", "GROUPS*", "SERVICEACCOUNTS*"];

const upstream: Record<string, string[]> = {
  Namespace: ["NAME", "STATUS", "AGE"],
  Pod: ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP*", "NODE*", "NOMINATED NODE*", "READINESS GATES*"],
  Service: ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR*"],
  Endpoints: ["NAME", "ENDPOINTS", "AGE"],
  Node: [
    "NAME",
    "STATUS",
    "ROLES",
    "AGE",
    "VERSION",
    "INTERNAL-IP*",
    "EXTERNAL-IP*",
    "OS-IMAGE*",
    "KERNEL-VERSION*",
    "CONTAINER-RUNTIME*",
  ],
  Event: [
    "LAST SEEN",
    "TYPE",
    "REASON",
    "OBJECT",
    "SUBOBJECT*",
    "SOURCE*",
    "MESSAGE",
    "FIRST SEEN*",
    "COUNT*",
    "NAME*",
  ],
  ConfigMap: ["NAME", "DATA", "AGE"],
  Secret: ["NAME", "TYPE", "DATA", "AGE"],
  ServiceAccount: ["NAME", "SECRETS", "AGE"],
  ReplicaSet: ["NAME", "DESIRED", "CURRENT", "READY", "AGE", ...templateWide],
  Deployment: ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", ...templateWide],
  ControllerRevision: ["NAME", "CONTROLLER", "REVISION", "AGE"],
  Job: ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE", ...templateWide],
  CronJob: ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE", ...templateWide],
  DaemonSet: [
    "NAME",
    "DESIRED",
    "CURRENT",
    "READY",
    "UP-TO-DATE",
    "AVAILABLE",
    "NODE SELECTOR",
    "AGE",
    ...templateWide,
  ],
  Lease: ["NAME", "HOLDER", "AGE"],
  Role: ["NAME", "CREATED AT"],
  ClusterRole: ["NAME", "CREATED AT"],
  RoleBinding: ["NAME", "ROLE", "AGE", ...bindingWide],
  ClusterRoleBinding: ["NAME", "ROLE", "AGE", ...bindingWide],
  HorizontalPodAutoscaler: ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"],
  PodDisruptionBudget: ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"],
  PersistentVolume: [
    "NAME",
    "CAPACITY",
    "ACCESS MODES",
    "RECLAIM POLICY",
    "STATUS",
    "CLAIM",
    "STORAGECLASS",
    "VOLUMEATTRIBUTESCLASS",
    "REASON",
    "AGE",
    "VOLUMEMODE*",
  ],
  PersistentVolumeClaim: [
    "NAME",
    "STATUS",
    "VOLUME",
    "CAPACITY",
    "ACCESS MODES",
    "STORAGECLASS",
    "VOLUMEATTRIBUTESCLASS",
    "AGE",
    "VOLUMEMODE*",
  ],
  StorageClass: ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"],
  StatefulSet: ["NAME", "READY", "AGE", "CONTAINERS*", "IMAGES*"],
  EndpointSlice: ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"],
  NetworkPolicy: ["NAME", "POD-SELECTOR", "AGE"],
  IngressClass: ["NAME", "CONTROLLER", "PARAMETERS", "AGE"],
  Ingress: ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"],
};

describe("Table columns against kube-apiserver v1.32", () => {
  const served = resources.map((info) => ({
    info,
    columns: tableColumns(info).map((c) => c.name + (c.priority === 1 ? "*" : "")),
  }));

  it("has an upstream column list for every served kind", () => {
    expect(served.map((s) => s.info.kind).filter((k) => !upstream[k])).toEqual([]);
  });

  it.each(served)("$info.kind: every column, in order", (s) => {
    expect(s.columns).toEqual(upstream[s.info.kind]);
  });

  it("marks the name column as upstream does", () => {
    for (const { info } of served) {
      const cols = tableColumns(info);
      const nameAt = upstream[info.kind]!.findIndex((c) => c.replace("*", "") === "NAME");
      expect(
        cols.findIndex((c) => c.format === "name"),
        info.kind,
      ).toBe(nameAt);
    }
  });
});
