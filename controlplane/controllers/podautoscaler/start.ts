/**
 * Starts the HorizontalPodAutoscaler controller for one leadership term: the HPA and pod
 * informers, the usage source, the target's `/scale` client, and the workers.
 */

import { realClock } from "../../../foundation/util/clock.js";
import type { HorizontalPodAutoscaler, Pod } from "../../../proto/gen/api.js";
import {
  type ControllerRunDeps,
  handle,
  type Informer,
  type StartedController,
  startController,
} from "../../client/index.js";
import { PodAutoscalerController, type ScaleClient } from "./controller.js";
import type { ResourceMetricsSource } from "./metrics-source.js";

export interface PodAutoscalerControllerDeps extends ControllerRunDeps {
  hpas: Informer<HorizontalPodAutoscaler>;
  pods: Informer<Pod>;
  metricsSource: ResourceMetricsSource;
  scales: ScaleClient;
  syncPeriodMs?: number;
}

export function startPodAutoscalerController(
  deps: PodAutoscalerControllerDeps,
): StartedController<PodAutoscalerController> {
  return startController(deps, {
    name: "horizontalpodautoscaler",
    build: (queue) =>
      new PodAutoscalerController({
        hpas: deps.hpas.lister,
        pods: deps.pods.lister,
        metrics: deps.metricsSource,
        client: deps.client,
        scales: deps.scales,
        recorder: deps.recorder,
        clock: deps.clock ?? realClock,
        queue,
        ...(deps.syncPeriodMs !== undefined ? { syncPeriodMs: deps.syncPeriodMs } : {}),
      }),
    // Pods matter only through the periodic sync (usage moves without them changing).
    handlers: (c) => [handle(deps.hpas, c.hpaHandler), handle(deps.pods, {})],
  });
}
