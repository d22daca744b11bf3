/** Event: what a controller or agent reports about an object; kept for a TTL. */

import type { Event } from "../../proto/gen/api.js";
import { validateEvent } from "../api/validation/cluster.js";
import { age } from "../printers/age.js";
import { eventTime } from "../printers/cells.js";
import { defineKind } from "./kind.js";

function eventObject(ev: Event): string {
  const ref = ev.involvedObject ?? {};
  return `${(ref.kind ?? "").toLowerCase()}/${ref.name ?? ""}`;
}

/** "component, host", each from the events.k8s.io field when the core one is empty (as kubectl prints). */
function eventSource(ev: Event): string {
  const component = ev.source?.component || ev.reportingComponent || "";
  const host = ev.source?.host || ev.reportingInstance || "";
  return host ? `${component}, ${host}` : component;
}

export const eventKind = defineKind<Event>({
  resource: {
    group: "",
    version: "v1",
    kind: "Event",
    plural: "events",
    singular: "event",
    shortNames: ["ev"],
    namespaced: true,
    subresources: [],
    message: "kctl.api.Event",
    hasStatus: false,
  },
  validate: (c, ev) => validateEvent(c, ev),
  columns: {
    named: false,
    headers: ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
    wideHeaders: ["SUBOBJECT", "SOURCE", "FIRST SEEN", "COUNT", "NAME"],
    // Upstream's order: the involved object's details after OBJECT, the rest after MESSAGE.
    wideOrder: [
      "LAST SEEN",
      "TYPE",
      "REASON",
      "OBJECT",
      "SUBOBJECT",
      "SOURCE",
      "MESSAGE",
      "FIRST SEEN",
      "COUNT",
      "NAME",
    ],
    wideCells: (ev, now) => [
      ev.involvedObject?.fieldPath ?? "",
      eventSource(ev),
      age(ev.firstTimestamp || ev.eventTime || ev.metadata.creationTimestamp, now),
      String(ev.count ?? 0),
      ev.metadata.name ?? "",
    ],
    cells: (ev, now) => [
      age(eventTime(ev), now),
      ev.type ?? "",
      ev.reason ?? "",
      eventObject(ev),
      (ev.message ?? "").trim(),
    ],
  },
});
