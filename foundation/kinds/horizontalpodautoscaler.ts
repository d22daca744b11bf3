/**
 * HorizontalPodAutoscaler (autoscaling/v2): scales a workload's `/scale` between minReplicas and
 * maxReplicas to hold its pods' usage at a target (the podautoscaler controller). Columns and
 * describe follow kubectl v1.32.
 */
import type {
  HorizontalPodAutoscaler,
  HPAScalingRules,
  MetricSpec,
  MetricStatus,
} from "../../proto/gen/api.js";
import { defaultHorizontalPodAutoscaler } from "../api/autoscaling-defaults.js";
import { validateHorizontalPodAutoscaler } from "../api/validation/autoscaling.js";
import { created, none } from "../printers/cells.js";
import { conditions } from "../printers/describe-sections.js";
import type { DescribeWriter } from "../printers/describe-writer.js";
import { defineKind } from "./kind.js";

const unknown = "<unknown>";
const pct = (n: number | undefined) => (n === undefined ? unknown : `${n}%`);

/** One metric as the TARGETS cell shows it: `cpu: 35%/50%`, `memory: 100Mi/200Mi`, `2/5 (avg)`. */
function metricTarget(spec: MetricSpec, status: MetricStatus | undefined): string {
  switch (spec.type) {
    case "Resource":
    case "ContainerResource": {
      const src = spec.type === "Resource" ? spec.resource : spec.containerResource;
      const cur = spec.type === "Resource" ? status?.resource : status?.containerResource;
      const name = src?.name ?? "";
      if (src?.target?.averageValue !== undefined) {
        return `${name}: ${cur?.current?.averageValue ?? unknown}/${src.target.averageValue}`;
      }
      const target =
        src?.target?.averageUtilization === undefined ? "<auto>" : `${src.target.averageUtilization}%`;
      return `${name}: ${pct(cur?.current?.averageUtilization)}/${target}`;
    }
    case "Pods":
      return `${status?.pods?.current?.averageValue ?? unknown}/${spec.pods?.target?.averageValue ?? ""}`;
    case "Object":
    case "External": {
      const src = spec.type === "Object" ? spec.object : spec.external;
      const cur = spec.type === "Object" ? status?.object?.current : status?.external?.current;
      if (src?.target?.averageValue !== undefined)
        return `${cur?.averageValue ?? unknown}/${src.target.averageValue} (avg)`;
      return `${cur?.value ?? unknown}/${src?.target?.value ?? ""}`;
    }
    default:
      return "<unknown type>";
  }
}

/** kubectl shows the first two metrics and counts the rest. */
export function formatTargets(hpa: HorizontalPodAutoscaler): string {
  const specs = hpa.spec?.metrics ?? [];
  if (specs.length === 0) return none;
  const list = specs.map((m, i) => metricTarget(m, hpa.status?.currentMetrics?.[i]));
  return list.length > 2 ? `${list.slice(0, 2).join(", ")} + ${list.length - 2} more...` : list.join(", ");
}

function describeMetric(spec: MetricSpec, status: MetricStatus | undefined): [string, string] {
  if (spec.type === "Resource" || spec.type === "ContainerResource") {
    const src = spec.type === "Resource" ? spec.resource : spec.containerResource;
    const cur = (spec.type === "Resource" ? status?.resource : status?.containerResource)?.current;
    const on =
      spec.type === "Resource"
        ? `resource ${src?.name} on pods`
        : `resource ${src?.name} of container "${spec.containerResource?.container}" on pods`;
    if (src?.target?.averageValue !== undefined)
      return [on, `${cur?.averageValue ?? unknown} / ${src.target.averageValue}`];
    const current =
      cur?.averageUtilization === undefined
        ? unknown
        : `${cur.averageUtilization}% (${cur.averageValue ?? unknown})`;
    return [`${on}  (as a percentage of request)`, `${current} / ${pct(src?.target?.averageUtilization)}`];
  }
  return [
    `"${spec.pods?.metric?.name ?? spec.object?.metric?.name ?? spec.external?.metric?.name ?? ""}" (${spec.type})`,
    metricTarget(spec, status),
  ];
}

function describeRules(w: DescribeWriter, label: string, r: HPAScalingRules | undefined): void {
  if (!r) return;
  w.section(2, label);
  if (r.stabilizationWindowSeconds !== undefined)
    w.text(4, `Stabilization Window: ${r.stabilizationWindowSeconds} seconds`);
  w.text(4, `Select Policy: ${r.selectPolicy ?? "Max"}`);
  w.text(4, "Policies:");
  for (const p of r.policies ?? []) {
    w.text(6, `- Type: ${p.type}  Value: ${p.value}  Period: ${p.periodSeconds} seconds`);
  }
}

export const horizontalPodAutoscalerKind = defineKind<HorizontalPodAutoscaler>({
  resource: {
    group: "autoscaling",
    version: "v2",
    kind: "HorizontalPodAutoscaler",
    plural: "horizontalpodautoscalers",
    singular: "horizontalpodautoscaler",
    shortNames: ["hpa"],
    namespaced: true,
    subresources: ["status"],
    message: "kctl.api.HorizontalPodAutoscaler",
    hasStatus: true,
  },
  defaults: defaultHorizontalPodAutoscaler,
  validate: (c, hpa) => validateHorizontalPodAutoscaler(c, hpa),
  columns: {
    headers: ["REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"],
    cells: (hpa, now) => [
      `${hpa.spec?.scaleTargetRef?.kind ?? ""}/${hpa.spec?.scaleTargetRef?.name ?? ""}`,
      formatTargets(hpa),
      hpa.spec?.minReplicas === undefined ? "<unset>" : String(hpa.spec.minReplicas),
      String(hpa.spec?.maxReplicas ?? 0),
      String(hpa.status?.currentReplicas ?? 0),
      created(hpa, now),
    ],
  },
  describe: (w, hpa) => {
    const ref = hpa.spec?.scaleTargetRef;
    w.field(0, "Reference", `${ref?.kind ?? ""}/${ref?.name ?? ""}`);
    w.field(0, "Metrics", "( current / target )");
    hpa.spec?.metrics?.forEach((m, i) => {
      const [label, value] = describeMetric(m, hpa.status?.currentMetrics?.[i]);
      w.field(2, label, value);
    });
    w.field(0, "Min replicas", hpa.spec?.minReplicas ?? "<unset>");
    w.field(0, "Max replicas", hpa.spec?.maxReplicas ?? 0);
    if (hpa.spec?.behavior) {
      w.section(0, "Behavior");
      describeRules(w, "Scale Up", hpa.spec.behavior.scaleUp);
      describeRules(w, "Scale Down", hpa.spec.behavior.scaleDown);
    }
    w.field(
      0,
      `${ref?.kind ?? ""} pods`,
      `${hpa.status?.currentReplicas ?? 0} current / ${hpa.status?.desiredReplicas ?? 0} desired`,
    );
    conditions(w, hpa.status?.conditions, true);
  },
});
