/**
 * StorageClass: how claims of a class get volumes (its provisioner) and when (Immediate, or
 * WaitForFirstConsumer: once a pod using the claim is scheduled). The one marked
 * `storageclass.kubernetes.io/is-default-class` fills claims that name none.
 */

import type { StorageClass } from "../../proto/gen/api.js";
import { validateStorageClass, validateStorageClassUpdate } from "../api/validation/storage.js";
import { created } from "../printers/cells.js";
import { defineKind } from "./kind.js";

export const defaultClassAnnotation = "storageclass.kubernetes.io/is-default-class";

export const storageClassKind = defineKind<StorageClass>({
  resource: {
    group: "storage.k8s.io",
    version: "v1",
    kind: "StorageClass",
    plural: "storageclasses",
    singular: "storageclass",
    shortNames: ["sc"],
    namespaced: false,
    subresources: [],
    message: "kctl.api.StorageClass",
    hasStatus: false,
  },
  defaults: (sc) => {
    sc.reclaimPolicy ??= "Delete";
    sc.volumeBindingMode ??= "Immediate";
  },
  validate: (c, sc, old) => {
    validateStorageClass(c, sc);
    if (old) validateStorageClassUpdate(c, sc, old);
  },
  columns: {
    headers: ["PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"],
    cells: (sc, now) => [
      sc.provisioner ?? "",
      sc.reclaimPolicy ?? "Delete",
      sc.volumeBindingMode ?? "Immediate",
      String(sc.allowVolumeExpansion ?? false),
      created(sc, now),
    ],
  },
  describe: (w, sc) => {
    w.field(0, "IsDefaultClass", sc.metadata.annotations?.[defaultClassAnnotation] === "true" ? "Yes" : "No");
    w.field(0, "Provisioner", sc.provisioner);
    w.map(0, "Parameters", sc.parameters);
    w.field(
      0,
      "AllowVolumeExpansion",
      sc.allowVolumeExpansion === undefined ? "<unset>" : String(sc.allowVolumeExpansion),
    );
    w.field(0, "ReclaimPolicy", sc.reclaimPolicy);
    w.field(0, "VolumeBindingMode", sc.volumeBindingMode);
  },
});
