/**
 * Validation of the bodies of the /scale and /binding subresources, which are not stored kinds:
 * the apiserver decodes them with `decodeMessage("Scale" | "Binding", body)` and checks them here.
 */

import type { Binding, Scale } from "../../../proto/gen/api.js";
import type { FieldCause } from "../errors.js";
import { dns1123SubdomainErrors } from "../labels.js";
import { Causes, validateNonNegative } from "./field.js";

/** Returns the problems of a Scale body: spec.replicas must be given and not negative. */
export function validateScale(scale: Scale): FieldCause[] {
  const c = new Causes();
  if (scale.spec?.replicas === undefined) c.required("spec.replicas");
  validateNonNegative(c, "spec.replicas", scale.spec?.replicas);
  return c.list;
}

/** Returns the problems of a Binding body: it names the pod and targets a node by a valid name. */
export function validateBinding(binding: Binding): FieldCause[] {
  const c = new Causes();
  // decodeMessage does not add metadata, so a body without it must not crash here.
  if (!binding.metadata?.name) c.required("metadata.name");
  const target = binding.target;
  if (!target?.name) c.required("target.name");
  else c.syntax("target.name", target.name, dns1123SubdomainErrors(target.name));
  if (target?.kind && target.kind !== "Node") c.notSupported("target.kind", target.kind, ["Node"]);
  return c.list;
}
