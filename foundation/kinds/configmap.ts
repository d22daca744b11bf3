/** ConfigMap: configuration data pods read as files or environment. */

import type { ConfigMap } from "../../proto/gen/api.js";
import { validateConfigMap, validateImmutableData } from "../api/validation/config.js";
import { created } from "../printers/cells.js";
import { describeData } from "../printers/describe-sections.js";
import { defineKind } from "./kind.js";

export const configMapKind = defineKind<ConfigMap>({
  resource: {
    group: "",
    version: "v1",
    kind: "ConfigMap",
    plural: "configmaps",
    singular: "configmap",
    shortNames: ["cm"],
    namespaced: true,
    subresources: [],
    message: "kctl.api.ConfigMap",
    hasStatus: false,
  },
  validate: (c, cm, old) => {
    validateConfigMap(c, cm);
    if (old) validateImmutableData(c, cm, old);
  },
  columns: {
    headers: ["DATA", "AGE"],
    cells: (cm, now) => [
      String(Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length),
      created(cm, now),
    ],
  },
  describe: (w, cm) => describeData(w, cm.data, false),
});
