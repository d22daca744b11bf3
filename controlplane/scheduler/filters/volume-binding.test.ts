import { describe, expect, it } from "vitest";
import type {
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StorageClass,
} from "../../../proto/gen/api.js";
import { filterReasons, makeNode, makePod } from "../testing/fixtures.js";
import { claimsAwaitingNode, type StorageLister } from "../volume-binding.js";
import { volumeBindingFilter } from "./volume-binding.js";

const wffc: StorageClass = {
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: { name: "local-path" },
  provisioner: "kctl.io/local-path",
  volumeBindingMode: "WaitForFirstConsumer",
};
const immediate: StorageClass = { ...wffc, metadata: { name: "fast" }, volumeBindingMode: "Immediate" };

function claim(
  name: string,
  o: { size?: string; className?: string; volume?: string; node?: string } = {},
): PersistentVolumeClaim {
  const c: PersistentVolumeClaim = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: "default" },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: o.size ?? "1Gi" } },
      storageClassName: o.className ?? "local-path",
    },
  };
  if (o.volume) c.spec!.volumeName = o.volume;
  if (o.node) c.metadata.annotations = { "volume.kubernetes.io/selected-node": o.node };
  return c;
}

function localVolume(name: string, node: string): PersistentVolume {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name },
    spec: {
      capacity: { storage: "1Gi" },
      local: { path: `/s/${name}` },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] },
          ],
        },
      },
    },
  };
}

function withoutClassName(c: PersistentVolumeClaim): PersistentVolumeClaim {
  delete c.spec!.storageClassName;
  return c;
}

function storage(
  claims: PersistentVolumeClaim[],
  volumes: PersistentVolume[] = [],
  committed = 0,
): StorageLister {
  return {
    claim: (ns, name) => claims.find((c) => c.metadata.namespace === ns && c.metadata.name === name),
    volume: (name) => volumes.find((v) => v.metadata.name === name),
    storageClass: (name) => [wffc, immediate].find((c) => c.metadata.name === name),
    defaultClass: () => wffc,
    committedOn: () => committed,
  };
}

function podWith(...claimNames: string[]): Pod {
  const pod = makePod("web-0");
  pod.spec!.volumes = claimNames.map((n) => ({ name: n, persistentVolumeClaim: { claimName: n } }));
  return pod;
}

function node(name: string, disk?: string): Node {
  const n = makeNode(name, { labels: { "kubernetes.io/hostname": name } });
  if (disk) n.status!.allocatable = { ...n.status!.allocatable, "ephemeral-storage": disk };
  return n;
}

describe("VolumeBinding filter", () => {
  it.each([
    { name: "a pod without claims", pod: makePod("p"), claims: [], node: node("n1"), want: [] },
    {
      name: "a missing claim",
      pod: podWith("www"),
      claims: [],
      node: node("n1"),
      want: ['persistentvolumeclaim "www" not found'],
    },
    {
      name: "a claim bound to a volume on this node",
      pod: podWith("www"),
      claims: [claim("www", { volume: "pv-1" })],
      volumes: [localVolume("pv-1", "n1")],
      node: node("n1"),
      want: [],
    },
    {
      name: "a claim bound to a volume on another node",
      pod: podWith("www"),
      claims: [claim("www", { volume: "pv-1" })],
      volumes: [localVolume("pv-1", "n2")],
      node: node("n1"),
      want: ["node(s) had volume node affinity conflict"],
    },
    {
      name: "an unbound WaitForFirstConsumer claim that fits",
      pod: podWith("www"),
      claims: [claim("www", { size: "1Gi" })],
      node: node("n1", "10Gi"),
      want: [],
    },
    {
      name: "an unbound claim bigger than the node's free storage",
      pod: podWith("www"),
      claims: [claim("www", { size: "1Ti" })],
      node: node("n1", "10Gi"),
      want: ["node(s) did not have enough free storage"],
    },
    {
      name: "a claim that fits the disk but not what is already promised",
      pod: podWith("www"),
      claims: [claim("www", { size: "2Gi" })],
      committed: 9 * 2 ** 30,
      node: node("n1", "10Gi"),
      want: ["node(s) did not have enough free storage"],
    },
    {
      name: "a claim already selected onto another node",
      pod: podWith("www"),
      claims: [claim("www", { node: "n2" })],
      node: node("n1", "10Gi"),
      want: ["node(s) had volume node affinity conflict"],
    },
    {
      name: "a claim whose default class the PV controller has not filled in yet",
      pod: podWith("www"),
      claims: [withoutClassName(claim("www"))],
      node: node("n1", "10Gi"),
      want: [],
    },
    {
      name: "an unbound Immediate claim",
      pod: podWith("www"),
      claims: [claim("www", { className: "fast" })],
      node: node("n1"),
      want: ["pod has unbound immediate PersistentVolumeClaims"],
    },
  ])("$name", ({ pod, claims, volumes, committed, node: n, want }) => {
    expect(filterReasons(volumeBindingFilter(storage(claims, volumes, committed)), pod, n)).toEqual(want);
  });

  it("names the claims that must learn the chosen node before the pod is bound", () => {
    const s = storage([claim("a"), claim("b", { node: "n1" }), claim("c", { volume: "pv" })]);
    expect(claimsAwaitingNode(podWith("a", "b", "c"), "n1", s).map((c) => c.metadata.name)).toEqual(["a"]);
  });
});
