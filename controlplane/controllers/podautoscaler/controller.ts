/**
 * The HorizontalPodAutoscaler controller (upstream's pkg/controller/podautoscaler): every sync
 * period, and whenever an HPA changes, `sync(key)` reads the HPA from its cache and the target's
 * `/scale`, computes a replica count per metric from the pods' usage (the largest wins), holds it
 * within minReplicas..maxReplicas, the stabilization windows and the rate policies, writes the
 * target's scale when it differs, and reports what it saw in the HPA's status and in Events.
 * Level-triggered: the same caches and samples give the same writes, whatever woke the sync; the
 * only memory between syncs is the recommendation and scale history the windows look back on.
 */
import { isDeepStrictEqual } from "node:util";
import { isApiError } from "../../../foundation/api/errors.js";
import { matchesSelector, parseSelector, type Selector } from "../../../foundation/api/labels.js";
import { objectKey } from "../../../foundation/api/object.js";
import { formatQuantity, quantityMilliValue } from "../../../foundation/api/quantity.js";
import { type ResourceInfo, resourceForKind, resources } from "../../../foundation/api/resources.js";
import type { Clock } from "../../../foundation/util/clock.js";
import { rfc3339 } from "../../../foundation/util/time.js";
import { tracer } from "../../../foundation/util/trace.js";
import type {
  HorizontalPodAutoscaler,
  HorizontalPodAutoscalerStatus,
  MetricSpec,
  MetricStatus,
  Pod,
  Scale,
} from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import type { EventRecorder } from "../../client/events.js";
import {
  type DeepReadonly,
  type EventHandler,
  type Lister,
  splitKey,
  type WorkQueue,
} from "../../client/index.js";
import { type HpaConditionType, setCondition } from "./conditions.js";
import { type ResourceMetricsSource, resourceMetric } from "./metrics-source.js";
import { normalizeLegacy, normalizeWithBehavior, ScaleHistory } from "./normalize.js";
import {
  type CalculatorSettings,
  defaultCalculatorSettings,
  rawResourceReplicas,
  resourceReplicas,
} from "./replica-calculator.js";

const trace = tracer("podautoscaler");

export const hpaResource = resourceForKind("autoscaling/v2", "HorizontalPodAutoscaler")!;

/** kube-controller-manager's --horizontal-pod-autoscaler-sync-period. */
export const defaultSyncPeriodMs = 15_000;

type Hpa = HorizontalPodAutoscaler;

/** The target's `/scale`, read and written (the integrator implements it over the registry). */
export interface ScaleClient {
  getScale(info: ResourceInfo, namespace: string, name: string): Promise<Scale>;
  updateScale(info: ResourceInfo, namespace: string, name: string, scale: Scale): Promise<Scale>;
}

export interface PodAutoscalerControllerOptions {
  hpas: Lister<Hpa>;
  pods: Lister<Pod>;
  metrics: ResourceMetricsSource;
  client: ControllerClient;
  scales: ScaleClient;
  recorder: EventRecorder;
  clock: Clock;
  queue: Pick<WorkQueue, "add" | "addAfter">;
  syncPeriodMs?: number;
  calculator?: CalculatorSettings;
}

/** A metric that gave no count, with the condition it sets. */
class MetricError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

interface Proposal {
  replicas: number;
  metricName: string;
  status: MetricStatus;
}

/** The resource behind a scaleTargetRef: by apiVersion and kind, else any kind of that name with /scale. */
export function scaleTarget(ref: { apiVersion?: string; kind?: string }): ResourceInfo | undefined {
  const exact = ref.apiVersion ? resourceForKind(ref.apiVersion, ref.kind ?? "") : undefined;
  const info = exact ?? resources.find((r) => r.kind === ref.kind && r.subresources.includes("scale"));
  return info?.subresources.includes("scale") ? info : undefined;
}

export class PodAutoscalerController {
  readonly history = new ScaleHistory();
  private readonly o: PodAutoscalerControllerOptions;
  private readonly syncPeriodMs: number;
  private readonly calculator: CalculatorSettings;

  constructor(opts: PodAutoscalerControllerOptions) {
    this.o = opts;
    this.syncPeriodMs = opts.syncPeriodMs ?? defaultSyncPeriodMs;
    this.calculator = opts.calculator ?? defaultCalculatorSettings;
  }

  readonly hpaHandler: EventHandler<Hpa> = {
    onAdd: (hpa) => this.o.queue.add(objectKey(hpa)),
    onUpdate: (_old, hpa) => this.o.queue.add(objectKey(hpa)),
    onDelete: (hpa) => this.o.queue.add(objectKey(hpa)),
  };

  async sync(key: string): Promise<void> {
    const cached = this.o.hpas.get(key);
    if (!cached) {
      this.history.forget(key);
      return;
    }
    // Metrics move without any object changing: every HPA is looked at again each period.
    this.o.queue.addAfter(key, this.syncPeriodMs);
    const hpa = structuredClone(cached) as Hpa;
    const before = cached.status as DeepReadonly<HorizontalPodAutoscalerStatus> | undefined;
    try {
      await this.reconcile(key, hpa);
    } catch (err) {
      // The status and Events say what went wrong; the next period retries, as upstream's
      // fixed-interval rate limiter for HPAs does (a backoff from milliseconds would only hammer
      // metrics that are missing or a target that is being written).
      trace("sync failed", key, String(err));
    }
    // A failed status write (a Conflict) is retried at once with the fresh copy.
    await this.writeStatus(hpa, before);
  }

  private condition(
    hpa: Hpa,
    type: HpaConditionType,
    status: "True" | "False",
    reason: string,
    message: string,
  ) {
    hpa.status ??= {};
    hpa.status.conditions ??= [];
    setCondition(hpa.status.conditions, { type, status, reason, message }, this.o.clock.now());
  }

  private async writeStatus(hpa: Hpa, before: DeepReadonly<HorizontalPodAutoscalerStatus> | undefined) {
    if (isDeepStrictEqual(hpa.status, before)) return;
    try {
      await this.o.client.updateStatus(hpaResource, hpa);
    } catch (err) {
      // Gone meanwhile: nothing to report on. A Conflict retries the key with the fresh copy.
      if (!isApiError(err, "NotFound")) throw err;
    }
  }

  private async reconcile(key: string, hpa: Hpa): Promise<void> {
    const { recorder, clock } = this.o;
    const ns = splitKey(key).namespace;
    const spec = hpa.spec ?? {};
    const ref = spec.scaleTargetRef ?? {};
    const reference = `${ref.kind}/${ref.name}`;
    const info = scaleTarget(ref);
    let scale: Scale;
    try {
      if (!info) {
        const group = (ref.apiVersion ?? "").includes("/") ? ref.apiVersion!.split("/")[0] : "";
        throw new Error(`no matches for kind "${ref.kind}" in group "${group}" with a scale subresource`);
      }
      scale = await this.o.scales.getScale(info, ns, ref.name ?? "");
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.condition(
        hpa,
        "AbleToScale",
        "False",
        "FailedGetScale",
        `the HPA controller was unable to get the target's current scale: ${message}`,
      );
      recorder.event(hpa, "Warning", "FailedGetScale", message);
      throw new Error(`failed to query scale subresource for ${reference}: ${message}`);
    }
    this.condition(
      hpa,
      "AbleToScale",
      "True",
      "SucceededGetScale",
      "the HPA controller was able to get the target's current scale",
    );
    const now = clock.now();
    const current = scale.spec?.replicas ?? 0;
    this.history.recordInitial(key, current, now);
    const min = spec.minReplicas ?? 1;
    const max = spec.maxReplicas ?? 0;
    let desired = 0;
    let reason = "";
    let statuses: MetricStatus[] = [];
    let rescale = true;
    let metricError: Error | undefined;
    if (current === 0 && min !== 0) {
      desired = 0;
      rescale = false;
      this.condition(
        hpa,
        "ScalingActive",
        "False",
        "ScalingDisabled",
        "scaling is disabled since the replica count of the target is zero",
      );
    } else if (current > max) {
      reason = "Current number of replicas above Spec.MaxReplicas";
      desired = max;
    } else if (current < min) {
      reason = "Current number of replicas below Spec.MinReplicas";
      desired = min;
    } else {
      const computed = this.computeReplicas(hpa, scale, ns, now);
      statuses = computed.statuses;
      if (computed.replicas === -1) {
        this.setStatus(hpa, current, hpa.status?.desiredReplicas ?? 0, statuses, false);
        const message = computed.error?.message ?? "";
        recorder.event(hpa, "Warning", "FailedComputeMetricsReplicas", message);
        throw new Error(
          `failed to compute desired number of replicas based on listed metrics for ${reference}: ${message}`,
        );
      }
      metricError = computed.error;
      desired = computed.replicas;
      if (desired > current) reason = `${computed.metricName} above target`;
      if (desired < current) reason = "All metrics below target";
      const normalized = spec.behavior
        ? normalizeWithBehavior(this.history, key, spec.behavior, { current, desired, min, max, now })
        : normalizeLegacy(this.history, key, { current, desired, min, max, now });
      for (const c of normalized.conditions) this.condition(hpa, c.type, c.status, c.reason, c.message);
      desired = normalized.replicas;
      rescale = desired !== current;
    }
    if (rescale) {
      try {
        await this.o.scales.updateScale(info!, ns, ref.name ?? "", {
          ...scale,
          spec: { ...scale.spec, replicas: desired },
        });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        recorder.event(
          hpa,
          "Warning",
          "FailedRescale",
          `New size: ${desired}; reason: ${reason}; error: ${message}`,
        );
        this.condition(
          hpa,
          "AbleToScale",
          "False",
          "FailedUpdateScale",
          `the HPA controller was unable to update the target scale: ${message}`,
        );
        this.setStatus(hpa, current, hpa.status?.desiredReplicas ?? 0, statuses, false);
        throw err;
      }
      this.condition(
        hpa,
        "AbleToScale",
        "True",
        "SucceededRescale",
        `the HPA controller was able to update the target scale to ${desired}`,
      );
      recorder.event(hpa, "Normal", "SuccessfulRescale", `New size: ${desired}; reason: ${reason}`);
      this.history.recordScale(key, spec.behavior, current, desired, now);
    } else {
      desired = current;
    }
    this.setStatus(hpa, current, desired, statuses, rescale);
    if (metricError) throw metricError;
  }

  private setStatus(hpa: Hpa, current: number, desired: number, metrics: MetricStatus[], rescaled: boolean) {
    const old = hpa.status ?? {};
    const lastScaleTime = rescaled ? rfc3339(this.o.clock.now()) : old.lastScaleTime;
    hpa.status = {
      ...(hpa.metadata.generation !== undefined ? { observedGeneration: hpa.metadata.generation } : {}),
      ...(lastScaleTime ? { lastScaleTime } : {}),
      currentReplicas: current,
      desiredReplicas: desired,
      ...(metrics.length ? { currentMetrics: metrics } : {}),
      ...(old.conditions ? { conditions: old.conditions } : {}),
    };
  }

  /**
   * The largest count any metric proposes (upstream's computeReplicasForMetrics); -1 when every
   * metric failed, or some failed and the rest would scale down (unsafe without them).
   */
  private computeReplicas(
    hpa: Hpa,
    scale: Scale,
    namespace: string,
    now: number,
  ): { replicas: number; metricName: string; statuses: MetricStatus[]; error?: Error } {
    const specs = hpa.spec?.metrics ?? [];
    const selectorText = scale.status?.selector ?? "";
    if (!selectorText) {
      this.condition(
        hpa,
        "ScalingActive",
        "False",
        "InvalidSelector",
        "the HPA target's scale is missing a selector",
      );
      this.o.recorder.event(hpa, "Warning", "SelectorRequired", "selector is required");
      return { replicas: -1, metricName: "", statuses: [], error: new Error("selector is required") };
    }
    let selector: Selector;
    try {
      selector = parseSelector(selectorText);
    } catch (err) {
      const message = `couldn't convert selector into a corresponding internal selector object: ${(err as Error).message}`;
      this.condition(hpa, "ScalingActive", "False", "InvalidSelector", message);
      this.o.recorder.event(hpa, "Warning", "InvalidSelector", message);
      return { replicas: -1, metricName: "", statuses: [], error: new Error(message) };
    }
    const statuses: MetricStatus[] = [];
    let replicas = 0;
    let metricName = "";
    let firstError: MetricError | undefined;
    let failed = 0;
    for (const spec of specs) {
      try {
        const p = this.computeForMetric(spec, scale, namespace, selector, now);
        statuses.push(p.status);
        if (replicas === 0 || p.replicas > replicas) {
          replicas = p.replicas;
          metricName = p.metricName;
        }
      } catch (err) {
        const e = err instanceof MetricError ? err : new MetricError(String(err), "FailedGetResourceMetric");
        // An empty entry keeps currentMetrics[i] lined up with spec.metrics[i], as upstream.
        statuses.push({});
        this.o.recorder.event(hpa, "Warning", e.reason, e.message);
        firstError ??= e;
        failed++;
      }
    }
    const current = scale.spec?.replicas ?? 0;
    if (firstError && (failed >= specs.length || replicas < current)) {
      this.condition(
        hpa,
        "ScalingActive",
        "False",
        firstError.reason,
        `the HPA was unable to compute the replica count: ${firstError.message}`,
      );
      return { replicas: -1, metricName: "", statuses, error: firstError };
    }
    this.condition(
      hpa,
      "ScalingActive",
      "True",
      "ValidMetricFound",
      `the HPA was able to successfully calculate a replica count from ${metricName}`,
    );
    return {
      replicas,
      metricName,
      statuses,
      ...(firstError ? { error: firstError } : {}),
    };
  }

  private computeForMetric(
    spec: MetricSpec,
    scale: Scale,
    namespace: string,
    selector: Selector,
    now: number,
  ): Proposal {
    if (spec.type !== "Resource" && spec.type !== "ContainerResource") {
      throw new MetricError(
        `unable to get metric of type ${spec.type}: this cluster serves only resource metrics (metrics.k8s.io), not custom or external metrics`,
        `FailedGet${spec.type}Metric`,
      );
    }
    const container = spec.type === "ContainerResource" ? spec.containerResource?.container : undefined;
    const src = spec.type === "Resource" ? spec.resource : spec.containerResource;
    const resource = src?.name ?? "";
    const target = src?.target ?? {};
    const reason = spec.type === "Resource" ? "FailedGetResourceMetric" : "FailedGetContainerResourceMetric";
    const current = scale.spec?.replicas ?? 0;
    const pods = this.o.pods
      .list()
      .filter((p) => p.metadata.namespace === namespace && matchesSelector(selector, p.metadata.labels));
    const statusOf = (utilization: number | undefined, raw: number): MetricStatus => {
      const value = {
        ...(utilization !== undefined ? { averageUtilization: utilization } : {}),
        averageValue: formatQuantity(raw / 1000, "decimal"),
      };
      return spec.type === "Resource"
        ? { type: "Resource", resource: { name: resource, current: value } }
        : {
            type: "ContainerResource",
            containerResource: { name: resource, container: container ?? "", current: value },
          };
    };
    try {
      const { metrics, timestampMs } = resourceMetric(
        this.o.metrics,
        resource,
        namespace,
        selector,
        container,
      );
      const input = {
        currentReplicas: current,
        pods,
        metrics,
        resource,
        now,
        settings: this.calculator,
        timestampMs,
      };
      if (target.averageValue !== undefined) {
        const r = rawResourceReplicas({ ...input, targetUsage: quantityMilliValue(target.averageValue) });
        return {
          replicas: r.replicas,
          metricName: `${resource} resource`,
          status: statusOf(undefined, r.rawAverage),
        };
      }
      if (target.averageUtilization === undefined) {
        throw new Error(
          "invalid resource metric source: neither an average utilization target nor an average value (usage) target was set",
        );
      }
      const r = resourceReplicas({ ...input, targetUtilization: target.averageUtilization, container });
      return {
        replicas: r.replicas,
        metricName: `${resource} resource utilization (percentage of request)`,
        status: statusOf(r.utilization, r.rawAverage),
      };
    } catch (err) {
      const what = target.averageValue !== undefined ? "usage" : "utilization";
      throw new MetricError(`failed to get ${resource} ${what}: ${(err as Error).message}`, reason);
    }
  }
}
