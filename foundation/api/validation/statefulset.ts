/**
 * Validation of apps/v1 StatefulSet: a headless Service name its pods take their DNS subdomain
 * from, a selector matching the template, the management and update policies, and the claim
 * templates each pod's volumes are stamped from. Once created only replicas, ordinals, template,
 * updateStrategy, persistentVolumeClaimRetentionPolicy and minReadySeconds may change.
 */

import { isDeepStrictEqual } from "node:util";
import type { StatefulSet, StatefulSetSpec, Volume } from "../../../proto/gen/api.js";
import { dns1123LabelErrors } from "../labels.js";
import { validateSelectorAndTemplate } from "./apps.js";
import { type Causes, child, index, isPercent, validateNonNegative, validateOneOf } from "./field.js";
import { validateClaimSpec } from "./storage.js";

export const podManagementPolicies = ["OrderedReady", "Parallel"] as const;
export const statefulSetUpdateStrategies = ["RollingUpdate", "OnDelete"] as const;
export const retentionPolicies = ["Retain", "Delete"] as const;

export function validateStatefulSet(c: Causes, set: StatefulSet): void {
  const spec = set.spec ?? {};
  if (!spec.serviceName) c.required("spec.serviceName");
  validateNonNegative(c, "spec.replicas", spec.replicas);
  validateNonNegative(c, "spec.minReadySeconds", spec.minReadySeconds);
  validateNonNegative(c, "spec.revisionHistoryLimit", spec.revisionHistoryLimit);
  validateNonNegative(c, "spec.ordinals.start", spec.ordinals?.start);
  validateOneOf(c, "spec.podManagementPolicy", spec.podManagementPolicy, podManagementPolicies, false);
  const strategy = spec.updateStrategy ?? {};
  validateOneOf(c, "spec.updateStrategy.type", strategy.type, statefulSetUpdateStrategies, false);
  const ru = strategy.rollingUpdate;
  if (ru && strategy.type === "OnDelete") {
    c.invalid("spec.updateStrategy.rollingUpdate", ru, "only allowed for updateStrategy 'RollingUpdate'");
  } else if (ru) {
    validateNonNegative(c, "spec.updateStrategy.rollingUpdate.partition", ru.partition);
    const mu = ru.maxUnavailable;
    const muPath = "spec.updateStrategy.rollingUpdate.maxUnavailable";
    if (typeof mu === "number" && mu < 1) c.invalid(muPath, mu, "must be greater than 0");
    if (
      typeof mu === "string" &&
      (!isPercent(mu) || Number(mu.slice(0, -1)) <= 0 || Number(mu.slice(0, -1)) > 100)
    )
      c.invalid(muPath, mu, "must be a percentage between 1% and 100%");
  }
  const retention = spec.persistentVolumeClaimRetentionPolicy;
  const retentionPath = "spec.persistentVolumeClaimRetentionPolicy";
  validateOneOf(c, child(retentionPath, "whenDeleted"), retention?.whenDeleted, retentionPolicies, false);
  validateOneOf(c, child(retentionPath, "whenScaled"), retention?.whenScaled, retentionPolicies, false);

  const claimNames = new Set<string>();
  (spec.volumeClaimTemplates ?? []).forEach((t, i) => {
    const p = index("spec.volumeClaimTemplates", i);
    const name = t.metadata?.name;
    if (!name) c.required(child(child(p, "metadata"), "name"));
    else {
      c.syntax(child(child(p, "metadata"), "name"), name, dns1123LabelErrors(name));
      if (claimNames.has(name)) c.duplicate(child(child(p, "metadata"), "name"), name);
      claimNames.add(name);
    }
    validateClaimSpec(c, t.spec, child(p, "spec"));
  });
  // Containers mount the claim templates by name, as if they were volumes of the pod (upstream
  // checks the template without them and lets such mounts through; we check the union).
  const template = spec.template && {
    ...spec.template,
    spec: {
      ...spec.template.spec,
      volumes: [
        ...(spec.template.spec?.volumes ?? []),
        ...[...claimNames]
          .filter((n) => !spec.template?.spec?.volumes?.some((v) => v.name === n))
          .map((n): Volume => ({ name: n, persistentVolumeClaim: { claimName: n } })),
      ],
    },
  };
  validateSelectorAndTemplate(c, spec.selector, template);
}

const mutableFields = [
  "replicas",
  "ordinals",
  "template",
  "updateStrategy",
  "persistentVolumeClaimRetentionPolicy",
  "minReadySeconds",
] as const;

export function validateStatefulSetUpdate(c: Causes, set: StatefulSet, old: StatefulSet): void {
  const rest = (s: StatefulSetSpec | undefined) => {
    const copy: Record<string, unknown> = { ...s };
    for (const f of mutableFields) delete copy[f];
    return copy;
  };
  if (!isDeepStrictEqual(rest(set.spec), rest(old.spec)))
    c.forbidden(
      "spec",
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
}
