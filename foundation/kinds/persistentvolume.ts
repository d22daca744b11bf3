/**
 * PersistentVolume: a piece of storage on (for the local-path provisioner) one node, bound to at
 * most one claim. The PV controller moves it through Pending/Available/Bound/Released/Failed.
 */

import type { PersistentVolume } from "../../proto/gen/api.js";
import { validatePersistentVolume, validatePersistentVolumeUpdate } from "../api/validation/storage.js";
import { created, none } from "../printers/cells.js";
import { defineKind } from "./kind.js";
import { accessModesText, attributesClassText } from "./storage-cells.js";

export const persistentVolumeKind = defineKind<PersistentVolume>({
  resource: {
    group: "",
    version: "v1",
    kind: "PersistentVolume",
    plural: "persistentvolumes",
    singular: "persistentvolume",
    shortNames: ["pv"],
    namespaced: false,
    subresources: ["status"],
    message: "kctl.api.PersistentVolume",
    hasStatus: true,
  },
  defaults: (pv) => {
    pv.spec ??= {};
    pv.spec.persistentVolumeReclaimPolicy ??= "Retain";
    pv.spec.volumeMode ??= "Filesystem";
  },
  validate: (c, pv, old) => {
    validatePersistentVolume(c, pv);
    if (old) validatePersistentVolumeUpdate(c, pv, old);
  },
  initialStatus: () => ({ phase: "Pending" }),
  columns: {
    headers: [
      "CAPACITY",
      "ACCESS MODES",
      "RECLAIM POLICY",
      "STATUS",
      "CLAIM",
      "STORAGECLASS",
      "VOLUMEATTRIBUTESCLASS",
      "REASON",
      "AGE",
    ],
    wideHeaders: ["VOLUMEMODE"],
    cells: (pv, now) => {
      const ref = pv.spec?.claimRef;
      return [
        pv.spec?.capacity?.storage ?? "",
        accessModesText(pv.spec?.accessModes),
        pv.spec?.persistentVolumeReclaimPolicy ?? "",
        pv.status?.phase ?? "",
        ref ? `${ref.namespace}/${ref.name}` : "",
        pv.spec?.storageClassName ?? "",
        attributesClassText(pv.spec?.volumeAttributesClassName),
        pv.status?.reason ?? "",
        created(pv, now),
      ];
    },
    wideCells: (pv) => [pv.spec?.volumeMode ?? "Filesystem"],
  },
  describe: (w, pv) => {
    const s = pv.spec ?? {};
    w.field(0, "StorageClass", s.storageClassName);
    w.field(0, "Status", pv.status?.phase);
    const ref = s.claimRef;
    w.field(0, "Claim", ref ? `${ref.namespace}/${ref.name}` : "");
    w.field(0, "Reclaim Policy", s.persistentVolumeReclaimPolicy);
    w.field(0, "Access Modes", accessModesText(s.accessModes));
    w.field(0, "VolumeMode", s.volumeMode);
    w.field(0, "Capacity", s.capacity?.storage);
    const terms = s.nodeAffinity?.required?.nodeSelectorTerms ?? [];
    w.section(0, "Node Affinity");
    w.section(2, "Required Terms");
    for (const t of terms)
      for (const e of t.matchExpressions ?? [])
        w.text(4, `Term 0:        ${e.key} ${e.operator?.toLowerCase()} [${(e.values ?? []).join(", ")}]`);
    w.field(0, "Message", pv.status?.message ?? "");
    w.section(0, "Source");
    if (s.local) {
      w.field(2, "Type", "LocalVolume (a persistent volume backed by local storage on a node)");
      w.field(2, "Path", s.local.path);
    } else if (s.hostPath) {
      w.field(2, "Type", "HostPath (bare host directory volume)");
      w.field(2, "Path", s.hostPath.path);
    } else {
      w.field(2, "Type", none);
    }
  },
});
