import { describe, expect, it } from "vitest";
import type { PodAffinityTerm } from "../../../proto/gen/api.js";
import { filterReasons, makeNode, makePod } from "../testing/fixtures.js";
import { podAntiAffinityFilter } from "./pod-anti-affinity.js";

const host = "kubernetes.io/hostname";
const avoid = (app: string, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm[] => [
  { labelSelector: { matchLabels: { app } }, topologyKey: host, ...extra },
];
const own = ["node(s) didn't match pod anti-affinity rules"];
const theirs = ["node(s) didn't satisfy existing pods anti-affinity rules"];

describe("pod anti-affinity filter", () => {
  const n1 = makeNode("n1", { labels: { zone: "a" } });
  const n2 = makeNode("n2", { labels: { zone: "a" } });
  it.each([
    [
      "no terms, nobody avoids it",
      makePod("p", { labels: { app: "web" } }),
      [makePod("x", { labels: { app: "web" } })],
      [],
    ],
    [
      "avoids a matching pod on the node",
      makePod("p", { antiAffinity: avoid("web") }),
      [makePod("x", { labels: { app: "web" } })],
      own,
    ],
    [
      "ignores pods that do not match",
      makePod("p", { antiAffinity: avoid("web") }),
      [makePod("x", { labels: { app: "db" } })],
      [],
    ],
    [
      "ignores matching pods in other namespaces",
      makePod("p", { antiAffinity: avoid("web") }),
      [makePod("x", { namespace: "other", labels: { app: "web" } })],
      [],
    ],
    [
      "term namespaces widen the scope",
      makePod("p", { antiAffinity: avoid("web", { namespaces: ["other"] }) }),
      [makePod("x", { namespace: "other", labels: { app: "web" } })],
      own,
    ],
    [
      "symmetric: an existing pod's term rejects the incoming pod",
      makePod("p", { labels: { app: "web" } }),
      [makePod("x", { labels: { app: "db" }, antiAffinity: avoid("web") })],
      theirs,
    ],
    [
      "matching pod on another node does not count with hostname",
      makePod("p", { antiAffinity: avoid("web") }),
      [makePod("x", { nodeName: "n2", labels: { app: "web" } })],
      [],
    ],
    [
      "zone topology spans nodes",
      makePod("p", { antiAffinity: avoid("web", { topologyKey: "zone" }) }),
      [makePod("x", { nodeName: "n2", labels: { app: "web" } })],
      own,
    ],
  ])("%s", (_name, pod, placed, want) => {
    expect(filterReasons(podAntiAffinityFilter, pod, n1, placed, [n2])).toEqual(want);
  });

  it("a pod does not repel itself (rescheduling after an assume)", () => {
    const p = makePod("p", { labels: { app: "web" }, antiAffinity: avoid("web") });
    expect(
      filterReasons(podAntiAffinityFilter, p, n1, [{ ...p, spec: { ...p.spec, nodeName: "n1" } }]),
    ).toEqual([]);
  });
});
