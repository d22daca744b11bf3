import { describe, expect, it } from "vitest";
import type {
  PersistentVolume,
  PersistentVolumeClaim,
  StatefulSet,
  StorageClass,
} from "../../proto/gen/api.js";
import type { KubeObject } from "../api/object.js";
import type { ResourceInfo } from "../api/resources.js";
import { resourceForKind } from "../api/resources.js";
import { applyDefaults as defaults, kindFor, validateObject as validate } from "./index.js";

const validateObject = (info: ResourceInfo, obj: unknown, old?: unknown) =>
  validate(info, obj as KubeObject, old as KubeObject | undefined);
const applyDefaults = <T>(info: ResourceInfo, obj: T): T => defaults(info, obj as KubeObject) as T;

const pvcs = resourceForKind("v1", "PersistentVolumeClaim")!;
const pvs = resourceForKind("v1", "PersistentVolume")!;
const classes = resourceForKind("storage.k8s.io/v1", "StorageClass")!;
const sets = resourceForKind("apps/v1", "StatefulSet")!;

function claim(size = "1Gi", modes = ["ReadWriteOnce"]): PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "data", namespace: "default" },
    spec: { accessModes: modes, resources: { requests: { storage: size } } },
  };
}

function volume(): PersistentVolume {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "pvc-1" },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      storageClassName: "local-path",
      local: { path: "/var/lib/kctl/storage/pvc-1" },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n1"] }] },
          ],
        },
      },
      claimRef: { namespace: "default", name: "data" },
    },
    status: { phase: "Bound" },
  };
}

function statefulSet(spec: StatefulSet["spec"]): StatefulSet {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "web", namespace: "default" },
    spec: {
      serviceName: "web",
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            { name: "app", image: "busybox", volumeMounts: [{ name: "www", mountPath: "/data" }] },
          ],
        },
      },
      volumeClaimTemplates: [{ ...claim(), metadata: { name: "www" } }],
      ...spec,
    },
  };
}

const fields = (causes: { field?: string }[]) => causes.map((c) => c.field);

describe("PersistentVolumeClaim", () => {
  it.each([
    { name: "no access modes", pvc: claim("1Gi", []), field: "spec.accessModes" },
    {
      name: "an unknown access mode",
      pvc: claim("1Gi", ["ReadWriteSometimes"]),
      field: "spec.accessModes[0]",
    },
    { name: "a size that is no quantity", pvc: claim("lots"), field: "spec.resources.requests[storage]" },
    { name: "a zero size", pvc: claim("0"), field: "spec.resources.requests[storage]" },
  ])("refuses $name, naming the field", ({ pvc, field }) => {
    expect(fields(validateObject(pvcs, pvc))).toEqual([field]);
  });

  it("may grow its request, bind once and take the default class; nothing else changes", () => {
    const old = claim("1Gi");
    const grown = claim("2Gi");
    grown.spec!.volumeName = "pvc-1";
    grown.spec!.storageClassName = "local-path";
    expect(validateObject(pvcs, grown, old)).toEqual([]);
    expect(fields(validateObject(pvcs, claim("512Mi"), old))).toEqual(["spec.resources.requests.storage"]);
    expect(fields(validateObject(pvcs, claim("1Gi", ["ReadWriteMany"]), old))).toEqual(["spec"]);
    const rebound = { ...grown, spec: { ...grown.spec, volumeName: "pvc-2" } };
    expect(fields(validateObject(pvcs, rebound, grown))).toEqual(["spec"]);
  });

  it("prints capacity and access modes only once bound, as kubectl does", () => {
    const cells = (pvc: PersistentVolumeClaim) => kindFor(pvcs)!.columns!.cells(pvc as never, Date.now());
    const pending = { ...claim(), status: { phase: "Pending" } };
    expect(cells(pending).slice(0, 6)).toEqual(["Pending", "", "", "", "", "<unset>"]);
    const bound = claim();
    bound.spec!.volumeName = "pvc-1";
    bound.spec!.storageClassName = "local-path";
    bound.status = { phase: "Bound", capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"] };
    expect(cells(bound).slice(0, 6)).toEqual(["Bound", "pvc-1", "1Gi", "RWO", "local-path", "<unset>"]);
  });
});

describe("PersistentVolume", () => {
  it("prints the kubectl columns", () => {
    const cells = kindFor(pvs)!.columns!.cells(volume() as never, Date.now());
    expect(cells.slice(0, 8)).toEqual([
      "1Gi",
      "RWO",
      "Delete",
      "Bound",
      "default/data",
      "local-path",
      "<unset>",
      "",
    ]);
  });

  it("needs a source, node affinity for a local one, and keeps both once created", () => {
    const bare = volume();
    delete bare.spec!.local;
    expect(fields(validateObject(pvs, bare))).toEqual(["spec"]);
    const noAffinity = volume();
    delete noAffinity.spec!.nodeAffinity;
    expect(fields(validateObject(pvs, noAffinity))).toEqual(["spec.nodeAffinity"]);
    const moved = volume();
    moved.spec!.local = { path: "/elsewhere" };
    expect(fields(validateObject(pvs, moved, volume()))).toEqual(["spec.persistentvolumesource"]);
  });
});

describe("StorageClass", () => {
  it("defaults to Delete and Immediate; its provisioner and binding mode never change", () => {
    const sc = applyDefaults(classes, {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: "fast" },
      provisioner: "kctl.io/local-path",
    } as StorageClass);
    expect([sc.reclaimPolicy, sc.volumeBindingMode]).toEqual(["Delete", "Immediate"]);
    const changed = { ...sc, volumeBindingMode: "WaitForFirstConsumer", provisioner: "other" };
    expect(fields(validateObject(classes, changed, sc))).toEqual(["provisioner", "volumeBindingMode"]);
    expect(fields(validateObject(classes, { ...sc, provisioner: "" }))).toEqual(["provisioner"]);
  });
});

describe("StatefulSet", () => {
  it("fills upstream's defaults", () => {
    const set = applyDefaults(sets, statefulSet({}));
    expect(set.spec).toMatchObject({
      replicas: 1,
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    });
  });

  it("accepts containers mounting a claim template by name", () => {
    expect(validateObject(sets, applyDefaults(sets, statefulSet({})))).toEqual([]);
  });

  it.each([
    { name: "no serviceName", spec: { serviceName: "" }, field: "spec.serviceName" },
    {
      name: "an unknown management policy",
      spec: { podManagementPolicy: "Random" },
      field: "spec.podManagementPolicy",
    },
    {
      name: "a negative partition",
      spec: { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: -1 } } },
      field: "spec.updateStrategy.rollingUpdate.partition",
    },
    {
      name: "a selector the template does not match",
      spec: { selector: { matchLabels: { app: "db" } } },
      field: "spec.template.metadata.labels",
    },
    {
      name: "a claim template without a size",
      spec: {
        volumeClaimTemplates: [
          { ...claim(), metadata: { name: "www" }, spec: { accessModes: ["ReadWriteOnce"] } },
        ],
      },
      field: "spec.volumeClaimTemplates[0].spec.resources.requests[storage]",
    },
  ])("refuses $name, naming the field", ({ spec, field }) => {
    expect(fields(validateObject(sets, statefulSet(spec as StatefulSet["spec"])))).toEqual([field]);
  });

  it("lets only replicas, template, updateStrategy and retention change", () => {
    const old = applyDefaults(sets, statefulSet({}));
    const scaled = structuredClone(old);
    scaled.spec!.replicas = 5;
    expect(validateObject(sets, scaled, old)).toEqual([]);
    const renamed = structuredClone(old);
    renamed.spec!.serviceName = "other";
    expect(fields(validateObject(sets, renamed, old))).toEqual(["spec"]);
  });

  it("prints READY and AGE, and containers and images wide", () => {
    const set = statefulSet({ replicas: 3 });
    set.status = { readyReplicas: 2 };
    const k = kindFor(sets)!.columns!;
    expect(k.cells(set as never, Date.now())[0]).toBe("2/3");
    expect(k.wideCells!(set as never, Date.now())).toEqual(["app", "busybox"]);
  });
});
