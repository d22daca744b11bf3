/**
 * Cell helpers the kinds' table columns share (foundation/kinds): the `<none>` placeholder, an
 * object's age, counts of map entries, the wide columns of objects with a pod template, and when an
 * Event last happened.
 */

import type { Event, ObjectMeta, PodTemplateSpec } from "../../proto/gen/api.js";
import { formatSelector, selectorFromLabelSelector } from "../api/labels.js";
import { age } from "./age.js";

export const none = "<none>";

/** The AGE cell: how long ago the object was created. */
export const created = (o: { metadata: Pick<ObjectMeta, "creationTimestamp"> }, now: number): string =>
  age(o.metadata.creationTimestamp, now);

/** The number of entries of a map, as a cell. */
export const count = (m: Record<string, unknown> | undefined): string => String(Object.keys(m ?? {}).length);

/** CONTAINERS, IMAGES and SELECTOR: the wide cells of kinds that hold a pod template. */
export function templateWide(
  template: PodTemplateSpec | undefined,
  selector: Parameters<typeof selectorFromLabelSelector>[0] | undefined,
) {
  const containers = template?.spec?.containers ?? [];
  let sel = none;
  try {
    sel = selector ? formatSelector(selectorFromLabelSelector(selector)) || none : none;
  } catch {
    sel = none;
  }
  return [
    containers.map((c) => c.name ?? "").join(",") || none,
    containers.map((c) => c.image ?? "").join(",") || none,
    sel,
  ];
}

/** When an event last happened: lastTimestamp, else eventTime, else when it was created. */
export function eventTime(ev: Event): string | undefined {
  return ev.lastTimestamp || ev.eventTime || ev.metadata.creationTimestamp;
}
