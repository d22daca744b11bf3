/**
 * PersistentVolumeClaim: a request for storage in a namespace; the PV controller binds it to a
 * PersistentVolume (for WaitForFirstConsumer classes, once the scheduler has picked its node).
 */

import type { PersistentVolumeClaim } from "../../proto/gen/api.js";
import {
  validatePersistentVolumeClaim,
  validatePersistentVolumeClaimUpdate,
} from "../api/validation/storage.js";
import { created } from "../printers/cells.js";
import { conditions } from "../printers/describe-sections.js";
import { defineKind } from "./kind.js";
import { accessModesText, attributesClassText } from "./storage-cells.js";

export const persistentVolumeClaimKind = defineKind<PersistentVolumeClaim>({
  resource: {
    group: "",
    version: "v1",
    kind: "PersistentVolumeClaim",
    plural: "persistentvolumeclaims",
    singular: "persistentvolumeclaim",
    shortNames: ["pvc"],
    namespaced: true,
    subresources: ["status"],
    message: "kctl.api.PersistentVolumeClaim",
    hasStatus: true,
  },
  defaults: (pvc) => {
    pvc.spec ??= {};
    pvc.spec.volumeMode ??= "Filesystem";
  },
  validate: (c, pvc, old) => {
    validatePersistentVolumeClaim(c, pvc);
    if (old) validatePersistentVolumeClaimUpdate(c, pvc, old);
  },
  initialStatus: () => ({ phase: "Pending" }),
  columns: {
    headers: ["STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"],
    wideHeaders: ["VOLUMEMODE"],
    cells: (pvc, now) => {
      // kubectl shows capacity and modes only once the claim names its volume.
      const bound = !!pvc.spec?.volumeName;
      return [
        pvc.status?.phase ?? "",
        pvc.spec?.volumeName ?? "",
        bound ? (pvc.status?.capacity?.storage ?? "") : "",
        bound ? accessModesText(pvc.status?.accessModes) : "",
        pvc.spec?.storageClassName ?? "",
        attributesClassText(pvc.spec?.volumeAttributesClassName),
        created(pvc, now),
      ];
    },
    wideCells: (pvc) => [pvc.spec?.volumeMode ?? "Filesystem"],
  },
  describe: (w, pvc) => {
    w.field(0, "StorageClass", pvc.spec?.storageClassName);
    w.field(0, "Status", pvc.status?.phase);
    w.field(0, "Volume", pvc.spec?.volumeName);
    w.field(0, "Capacity", pvc.status?.capacity?.storage);
    w.field(0, "Access Modes", accessModesText(pvc.status?.accessModes));
    w.field(0, "VolumeMode", pvc.spec?.volumeMode);
    conditions(w, pvc.status?.conditions, true);
  },
});
