/** ServiceAccount: an identity for the programs in pods, which they prove with a bound token. */

import type { ServiceAccount } from "../../proto/gen/api.js";
import { validateLocalObjectReferences } from "../api/validation/field.js";
import { created } from "../printers/cells.js";
import { defineKind } from "./kind.js";

const names = (refs: { name?: string }[] | undefined) =>
  refs?.map((r) => r.name ?? "").join(", ") || "<none>";

export const serviceAccountKind = defineKind<ServiceAccount>({
  resource: {
    group: "",
    version: "v1",
    kind: "ServiceAccount",
    plural: "serviceaccounts",
    singular: "serviceaccount",
    shortNames: ["sa"],
    namespaced: true,
    subresources: ["token"],
    message: "kctl.api.ServiceAccount",
    hasStatus: false,
  },
  validate: (c, sa) => validateLocalObjectReferences(c, "imagePullSecrets", sa.imagePullSecrets),
  columns: {
    headers: ["SECRETS", "AGE"],
    cells: (sa, now) => [String(sa.secrets?.length ?? 0), created(sa, now)],
  },
  describe: (w, sa) => {
    w.field(0, "Image pull secrets", names(sa.imagePullSecrets));
    w.field(0, "Mountable secrets", names(sa.secrets));
    w.field(0, "Tokens", "<none>");
  },
});
