import { describe, expect, it } from "vitest";
import { drawFault, type FaultKind, faultTable } from "./faults.js";

const hosts = { controlPlanes: ["node1", "node2", "node3"], workers: ["node4", "node5", "node6", "node7"] };

/** A generator that returns `values` in turn. */
const scripted = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe("the fault table", () => {
  it("has the issue's kinds, each with a positive weight and targets", () => {
    expect(faultTable.map((f) => f.kind)).toEqual([
      "agent-kill",
      "controlplane-kill",
      "etcd-kill",
      "link-cut",
      "cpu-stress",
      "slow-disk",
    ]);
    for (const f of faultTable) {
      expect(f.weight).toBeGreaterThan(0);
      expect(f.targets(hosts).length).toBeGreaterThan(0);
    }
  });

  it("hits etcd members and disks only on control plane hosts, and cuts links and agents only of workers", () => {
    const targets = Object.fromEntries(faultTable.map((f) => [f.kind, f.targets(hosts)]));
    for (const kind of ["controlplane-kill", "etcd-kill", "slow-disk"])
      expect(targets[kind]).toEqual(hosts.controlPlanes);
    for (const kind of ["agent-kill", "link-cut"]) expect(targets[kind]).toEqual(hosts.workers);
    expect(targets["cpu-stress"]).toEqual([...hosts.controlPlanes, ...hosts.workers]);
  });
});

describe("drawFault", () => {
  const table = [
    { kind: "a", weight: 1, targets: () => ["x"] },
    { kind: "b", weight: 3, targets: () => ["y", "z"] },
  ] as unknown as FaultKind[];

  it("picks the kind whose share of the total weight the first number falls in, then a target", () => {
    expect(drawFault(table, hosts, scripted(0.1, 0)).fault.kind).toBe("a");
    expect(drawFault(table, hosts, scripted(0.26, 0))).toMatchObject({ fault: { kind: "b" }, target: "y" });
    expect(drawFault(table, hosts, scripted(0.99, 0.99)).target).toBe("z");
  });

  it("replays the same plan from the same numbers", () => {
    const plan = (r: () => number) => Array.from({ length: 20 }, () => drawFault(faultTable, hosts, r));
    const numbers = Array.from({ length: 40 }, (_, i) => (i * 0.377) % 1);
    const kinds = (p: ReturnType<typeof plan>) => p.map((d) => `${d.fault.kind}@${d.target}`);
    expect(kinds(plan(scripted(...numbers)))).toEqual(kinds(plan(scripted(...numbers))));
  });
});
