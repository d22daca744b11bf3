/** The HPA's status conditions: set one by type, keeping its transition time while its status holds. */

import { rfc3339 } from "../../../foundation/util/time.js";
import type { HorizontalPodAutoscalerCondition } from "../../../proto/gen/api.js";

export type HpaConditionType = "AbleToScale" | "ScalingActive" | "ScalingLimited";

export function setCondition(
  list: HorizontalPodAutoscalerCondition[],
  c: { type: HpaConditionType; status: "True" | "False"; reason: string; message: string },
  now: number,
): void {
  const i = list.findIndex((x) => x.type === c.type);
  const old = i >= 0 ? list[i] : undefined;
  const next: HorizontalPodAutoscalerCondition = {
    ...c,
    lastTransitionTime:
      old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(now),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
}
