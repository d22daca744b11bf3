/**
 * The HorizontalPodAutoscaler controller. It owns each HPA's status and writes only its targets'
 * `/scale`; it never edits a target's spec otherwise, and reads usage only through a
 * `ResourceMetricsSource` (metrics.k8s.io's data), never from nodes directly.
 */
export { PodAutoscalerController, type ScaleClient, scaleTarget } from "./controller.js";
export type { ContainerUsage, PodUsageSample, ResourceMetricsSource } from "./metrics-source.js";
export { startPodAutoscalerController } from "./start.js";
