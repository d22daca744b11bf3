import type { Registry } from "prom-client";

/** The start stage histogram's `_sum` and `_count` by stage, as a scrape shows them. */
export async function stageTotals(
  registry: Registry,
): Promise<Record<string, { sum?: number; count?: number }>> {
  const metric = await registry.getSingleMetric("kctl_pod_start_stage_duration_seconds")!.get();
  const totals: Record<string, { sum?: number; count?: number }> = {};
  // A histogram's values name their series (`…_sum`, `…_count`); prom-client's type leaves it out.
  for (const v of metric.values as {
    labels: Record<string, unknown>;
    value: number;
    metricName?: string;
  }[]) {
    const field = v.metricName?.endsWith("_sum") ? "sum" : v.metricName?.endsWith("_count") ? "count" : "";
    if (field) totals[String(v.labels.stage)] = { ...totals[String(v.labels.stage)], [field]: v.value };
  }
  return totals;
}
