import { describe, expect, it } from "vitest";
import { nodeRows, podRows } from "./top.js";

const pods = [
  {
    metadata: { name: "web", namespace: "default" },
    containers: [
      { name: "app", usage: { cpu: "250m", memory: "64Mi" } },
      { name: "side", usage: { cpu: "1500u", memory: "1048576" } },
      { name: "log", usage: { cpu: "1500u", memory: "0" } },
    ],
  },
];

describe("kctl top tables (as kubectl top prints them)", () => {
  it("sums a pod's containers in millicores and MiB, rounding the sum up once as kubectl does", () => {
    expect(podRows(pods, { allNamespaces: false, containers: false })).toEqual([
      ["NAME", "CPU(cores)", "MEMORY(bytes)"],
      ["web", "253m", "65Mi"],
    ]);
    expect(podRows(pods, { allNamespaces: true, containers: true })).toEqual([
      ["NAMESPACE", "POD", "NAME", "CPU(cores)", "MEMORY(bytes)"],
      ["default", "web", "app", "250m", "64Mi"],
      ["default", "web", "side", "2m", "1Mi"],
      ["default", "web", "log", "2m", "0Mi"],
    ]);
  });

  it("gives a node's share of its allocatable, and <unknown> for a node without metrics", () => {
    const rows = nodeRows(
      [
        { name: "n1", allocatable: { cpu: "2", memory: "4Gi" } },
        { name: "n2", allocatable: { cpu: "2", memory: "4Gi" } },
      ],
      [{ metadata: { name: "n1" }, usage: { cpu: "500000000n", memory: "1Gi" } }],
    );
    expect(rows).toEqual([
      ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"],
      ["n1", "500m", "25%", "1024Mi", "25%"],
      ["n2", "<unknown>", "<unknown>", "<unknown>", "<unknown>"],
    ]);
  });
});
