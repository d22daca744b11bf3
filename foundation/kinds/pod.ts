/** Pod: the unit the scheduler places and node agents run. */

import type { Pod } from "../../proto/gen/api.js";
import { defaultPod } from "../api/defaults.js";
import { validatePod, validatePodUpdate } from "../api/validation/pod.js";
import { created, none } from "../printers/cells.js";
import { conditions, containers } from "../printers/describe-sections.js";
import { describeTime } from "../printers/describe-writer.js";
import { podCells } from "../printers/pod-status.js";
import { defineKind } from "./kind.js";

export const podKind = defineKind<Pod>({
  resource: {
    group: "",
    version: "v1",
    kind: "Pod",
    plural: "pods",
    singular: "pod",
    shortNames: ["po"],
    namespaced: true,
    subresources: ["status", "binding", "eviction", "log", "exec", "attach", "portforward"],
    message: "kctl.api.Pod",
    hasStatus: true,
  },
  defaults: defaultPod,
  validate: (c, pod, old) => {
    validatePod(c, pod);
    if (old) validatePodUpdate(c, pod, old);
  },
  initialStatus: () => ({ phase: "Pending" }),
  columns: {
    headers: ["READY", "STATUS", "RESTARTS", "AGE"],
    // The API has neither nominatedNodeName (no preemption) nor readinessGates, so their columns
    // read <none>, as upstream's do for a pod without them.
    wideHeaders: ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
    cells: (pod, now) => {
      const c = podCells(pod, now);
      return [c.ready, c.status, c.restarts, created(pod, now)];
    },
    wideCells: (pod) => [pod.status?.podIP || none, pod.spec?.nodeName || none, none, none],
  },
  describe: (w, pod) => {
    const s = pod.status ?? {};
    w.field(
      0,
      "Node",
      pod.spec?.nodeName ? `${pod.spec.nodeName}${s.hostIP ? `/${s.hostIP}` : ""}` : "<none>",
    );
    w.field(0, "Start Time", s.startTime ? describeTime(s.startTime) : undefined);
    w.field(0, "Status", pod.metadata.deletionTimestamp ? "Terminating" : (s.phase ?? "Pending"));
    if (s.reason) w.field(0, "Reason", s.reason);
    if (s.message) w.field(0, "Message", s.message);
    w.field(0, "IP", s.podIP);
    containers(w, 0, "Init Containers", pod.spec?.initContainers, s.initContainerStatuses ?? []);
    containers(w, 0, "Containers", pod.spec?.containers, s.containerStatuses ?? []);
    conditions(w, s.conditions, false);
    w.field(
      0,
      "Volumes",
      (pod.spec?.volumes ?? [])
        .map(
          (v) =>
            `${v.name}: ${Object.keys(v)
              .filter((k) => k !== "name")
              .join(",")}`,
        )
        .join("\n"),
    );
    w.map(0, "Node-Selectors", pod.spec?.nodeSelector);
    const tolerations = (pod.spec?.tolerations ?? []).map(
      (t) =>
        `${t.key ?? ""}${t.operator === "Exists" ? "" : `=${t.value ?? ""}`}${t.effect ? `:${t.effect}` : ""}${t.tolerationSeconds !== undefined ? ` for ${t.tolerationSeconds}s` : ""}`,
    );
    w.field(0, "Tolerations", tolerations.join("\n"));
  },
});
