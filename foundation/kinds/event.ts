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
    cells: (ev, now) => [
      age(eventTime(ev), now),
      ev.type ?? "",
      ev.reason ?? "",
      eventObject(ev),
      (ev.message ?? "").trim(),
    ],
  },
});
