import { describe, expect, it } from "vitest";
import type { ControllerRevision } from "../../../proto/gen/api.js";
import {
  controllerRevisionHashLabel,
  matchingRevisions,
  newRevision,
  nextRevisionNumber,
  revisionHash,
  revisionsToTruncate,
  templateOf,
  templatePatch,
} from "./revisions.js";

const owner = {
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: {
    name: "fluentd",
    namespace: "kube-system",
    uid: "ds-1",
    annotations: { "kubernetes.io/change-cause": "v2" },
  },
};
const template = (image: string) => ({
  metadata: { labels: { app: "fluentd" } },
  spec: { containers: [{ name: "f", image }] },
});

function rev(image: string, revision: number): ControllerRevision {
  return newRevision(owner, { app: "fluentd" }, templatePatch(template(image)), revision);
}

describe("controller history", () => {
  it("names a revision owner-hash, labels it with the hash, and owns it", () => {
    const r = rev("fluentd:1", 1);
    const hash = r.metadata.labels?.[controllerRevisionHashLabel];
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(r.metadata.name).toBe(`fluentd-${hash}`);
    expect(r.metadata.labels?.app).toBe("fluentd");
    expect(r.metadata.ownerReferences).toEqual([
      {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        name: "fluentd",
        uid: "ds-1",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(r.metadata.annotations).toEqual({ "kubernetes.io/change-cause": "v2" });
  });

  it("hashes equal data equally whatever the key order, and a collision count moves the hash", () => {
    expect(revisionHash({ a: 1, b: { c: 2 } })).toBe(revisionHash({ b: { c: 2 }, a: 1, d: {} }));
    expect(revisionHash({ a: 1 }, 1)).not.toBe(revisionHash({ a: 1 }));
    expect(revisionHash({ a: 1 })).not.toBe(revisionHash({ a: 2 }));
  });

  it("stores a template as a patch that replaces it, and reads it back", () => {
    const r = rev("fluentd:2", 2);
    expect(r.data).toMatchObject({ spec: { template: { $patch: "replace" } } });
    expect(templateOf(r)).toEqual(template("fluentd:2"));
  });

  it("finds the revision of a template and numbers the next one", () => {
    const revs = [rev("fluentd:1", 1), rev("fluentd:2", 3), rev("fluentd:3", 2)];
    expect(matchingRevisions(revs, templatePatch(template("fluentd:2"))).map((r) => r.revision)).toEqual([3]);
    expect(matchingRevisions(revs, templatePatch(template("fluentd:9")))).toEqual([]);
    expect(nextRevisionNumber(revs)).toBe(4);
    expect(nextRevisionNumber([])).toBe(1);
  });

  it("truncates the oldest revisions past the limit, sparing those pods still run", () => {
    const old = [rev("a", 1), rev("b", 2), rev("c", 3), rev("d", 4)];
    const live = new Set([old[0]!.metadata.labels![controllerRevisionHashLabel]!]);
    // 4 old revisions, limit 2: two go, and revision 1 is live, so 2 and 3 go.
    expect(revisionsToTruncate(old, live, 2).map((r) => r.revision)).toEqual([2, 3]);
    expect(revisionsToTruncate(old, new Set(), 4)).toEqual([]);
    expect(revisionsToTruncate(old, new Set(), 0).map((r) => r.revision)).toEqual([1, 2, 3, 4]);
  });
});
