/** Secret: like a ConfigMap, for credentials; describe shows only the size of each value. */

import type { Secret } from "../../proto/gen/api.js";
import { defaultSecret } from "../api/defaults.js";
import { validateImmutableData, validateSecret } from "../api/validation/config.js";
import { count, created } from "../printers/cells.js";
import { describeData } from "../printers/describe-sections.js";
import { defineKind } from "./kind.js";

export const secretKind = defineKind<Secret>({
  resource: {
    group: "",
    version: "v1",
    kind: "Secret",
    plural: "secrets",
    singular: "secret",
    shortNames: [],
    namespaced: true,
    subresources: [],
    message: "kctl.api.Secret",
    hasStatus: false,
  },
  defaults: defaultSecret,
  validate: (c, secret, old) => {
    validateSecret(c, secret);
    if (old) validateImmutableData(c, secret, old);
  },
  columns: {
    headers: ["TYPE", "DATA", "AGE"],
    cells: (s, now) => [s.type ?? "Opaque", count(s.data), created(s, now)],
  },
  describe: (w, secret) => {
    w.field(0, "Type", secret.type ?? "Opaque");
    describeData(w, secret.data, true);
  },
});
