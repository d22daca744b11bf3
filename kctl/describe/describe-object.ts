/**
 * What `kctl describe` shows, after kubectl's describers: metadata, then the kind's own section
 * (registered with the kind in foundation/kinds: the spec's highlights, status and conditions),
 * and the object's Events at the end. Kinds without their own section show their remaining fields
 * as YAML.
 */

import { stringify } from "yaml";
import type { KubeObject } from "../../foundation/api/object.js";
import type { ResourceInfo } from "../../foundation/api/resources.js";
import { kindFor } from "../../foundation/kinds/index.js";
import { humanDuration } from "../../foundation/printers/age.js";
import { eventTime } from "../../foundation/printers/cells.js";
import { DescribeWriter, describeTime } from "../../foundation/printers/describe-writer.js";
import type { Endpoints, Event } from "../../proto/gen/api.js";
import { lastAppliedAnnotation } from "../apply-patch.js";

export interface DescribeInput {
  info: ResourceInfo;
  obj: KubeObject;
  /** Events whose involvedObject is `obj`. */
  events: readonly Event[];
  /** For a Service: its Endpoints object, when there is one. */
  endpoints?: Endpoints;
  now: number;
}

function meta(w: DescribeWriter, obj: KubeObject, info: ResourceInfo): void {
  w.field(0, "Name", obj.metadata.name);
  if (info.namespaced) w.field(0, "Namespace", obj.metadata.namespace);
  w.map(0, "Labels", obj.metadata.labels);
  // Like kubectl, the last-applied annotation is left out: it repeats the whole manifest.
  const { [lastAppliedAnnotation]: _applied, ...annotations } = obj.metadata.annotations ?? {};
  w.map(0, "Annotations", annotations, ": ");
  w.field(0, "CreationTimestamp", describeTime(obj.metadata.creationTimestamp));
  const owner = obj.metadata.ownerReferences?.find((o) => o.controller);
  if (owner) w.field(0, "Controlled By", `${owner.kind}/${owner.name}`);
  if (obj.metadata.deletionTimestamp)
    w.field(0, "Deletion Requested", describeTime(obj.metadata.deletionTimestamp));
}

function describeRest(w: DescribeWriter, obj: KubeObject): void {
  const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = obj;
  if (Object.keys(rest).length === 0) return;
  for (const line of stringify(rest, { indentSeq: false }).trimEnd().split("\n")) w.text(0, line);
}

function events(w: DescribeWriter, list: readonly Event[], now: number): void {
  const sorted = [...list].sort(
    (a, b) => (Date.parse(eventTime(a) ?? "") || 0) - (Date.parse(eventTime(b) ?? "") || 0),
  );
  const ageOf = (e: Event) => {
    const last = humanDuration(now - (Date.parse(eventTime(e) ?? "") || now));
    const first = e.firstTimestamp ? humanDuration(now - Date.parse(e.firstTimestamp)) : undefined;
    return (e.count ?? 1) > 1 && first ? `${last} (x${e.count} over ${first})` : last;
  };
  w.table(
    0,
    "Events",
    ["Type", "Reason", "Age", "From", "Message"],
    sorted.map((e) => [
      e.type ?? "",
      e.reason ?? "",
      ageOf(e),
      e.source?.component ?? e.reportingComponent ?? "",
      (e.message ?? "").trim(),
    ]),
    ["----", "------", "----", "----", "-------"],
  );
}

/** The full description of one object. */
export function describeObject(input: DescribeInput): string {
  const { info, obj } = input;
  const w = new DescribeWriter();
  meta(w, obj, info);
  const describe = kindFor(info)?.describe;
  if (describe) describe(w, obj, { endpoints: input.endpoints });
  else describeRest(w, obj);
  events(w, input.events, input.now);
  return w.toString();
}
