import { describe, expect, it } from "vitest";
import { describeLeaks, emptyItems, type HostSnapshot, leaksBetween, nftItems } from "./leak-diff.js";

const host = (name: string, items: Partial<HostSnapshot["items"]>): HostSnapshot => ({
  host: name,
  items: { ...emptyItems(), ...items },
});

describe("leaksBetween", () => {
  it("reports nothing when the later snapshot holds what the earlier held, or less", () => {
    const before = host("node1", { link: [{ key: "eth0 veth" }, { key: "kveth1 veth" }] });
    const after = host("node1", { link: [{ key: "eth0 veth" }] });
    expect(leaksBetween([before], [after])).toEqual([]);
  });

  it("reports a new item by host and category, with its details", () => {
    const before = [host("node1", {}), host("node2", {})];
    const after = [
      host("node1", { process: [{ key: "4242@99", detail: "sleep 600" }] }),
      host("node2", { mount: [{ key: "/lab/state/node2/x tmpfs" }] }),
    ];
    expect(leaksBetween(before, after)).toEqual([
      { host: "node1", category: "process", key: "4242@99", count: 1, details: ["sleep 600"] },
      { host: "node2", category: "mount", key: "/lab/state/node2/x tmpfs", count: 1, details: [] },
    ]);
  });

  it("counts repeats: a mount stacked once more, a cgroup in more hierarchies", () => {
    const before = host("node1", {
      mount: [{ key: "/m tmpfs" }],
      cgroup: [{ key: "node1/p", detail: "memory" }],
    });
    const after = host("node1", {
      mount: [{ key: "/m tmpfs" }, { key: "/m tmpfs" }],
      cgroup: [
        { key: "node1/p", detail: "memory" },
        { key: "node1/p", detail: "pids" },
        { key: "node1/p", detail: "cpu" },
      ],
    });
    const leaks = leaksBetween([before], [after]);
    expect(leaks.map((l) => [l.category, l.key, l.count])).toEqual([
      ["cgroup", "node1/p", 2],
      ["mount", "/m tmpfs", 1],
    ]);
    expect(describeLeaks(leaks)[0]).toBe("node1 cgroup node1/p (x2) [memory, pids, cpu]");
  });

  it("treats a host missing from the earlier snapshot as having held nothing", () => {
    const leaks = leaksBetween([], [host("lab", { cgroup: [{ key: "stray" }] })]);
    expect(leaks).toHaveLength(1);
  });
});

describe("nftItems", () => {
  const ruleset = (packets: number, handle: number) => ({
    nftables: [
      { metainfo: { version: "1.0.6" } },
      { table: { family: "ip", name: "kctl", handle: 1 } },
      { chain: { family: "ip", table: "kctl", name: "services", handle: 2 } },
      {
        rule: {
          family: "ip",
          table: "kctl",
          chain: "services",
          handle,
          expr: [{ counter: { packets, bytes: packets * 60 } }, { accept: null }],
        },
      },
      {
        set: {
          family: "ip",
          table: "kctl",
          name: "endpoints",
          handle: 9,
          elem: ["10.244.1.2", { elem: { val: "10.244.1.3", timeout: 30, expires: packets } }],
        },
      },
    ],
  });

  it("lists tables, chains, rules, sets and each element", () => {
    expect(nftItems(ruleset(0, 3)).map((i) => i.key)).toEqual([
      "table ip kctl",
      "chain ip kctl services",
      'rule ip kctl services [{"counter":{}},{"accept":null}]',
      "set ip kctl endpoints",
      'element ip kctl endpoints "10.244.1.2"',
      'element ip kctl endpoints {"elem":{"timeout":30,"val":"10.244.1.3"}}',
    ]);
  });

  it("ignores handles, counters and the time left of an element", () => {
    expect(nftItems(ruleset(7, 30))).toEqual(nftItems(ruleset(0, 3)));
  });
});
