import { describe, expect, it } from "vitest";
import { parseFlatKeyed } from "./cgroup-usage-linux.js";
import { parseMeminfoWorkingSet, parseProcStatCpu } from "./node-usage-linux.js";
import { latestAttempts } from "./pod-stats.js";

const uid = "0d9b2a3e-6f0c-4a59-9a2b-3c1f8e7d6a51";

describe("node usage from /proc", () => {
  it("counts the non-idle fields of the aggregate cpu line, in µs", () => {
    // user nice system idle iowait irq softirq steal guest guest_nice
    const stat = "cpu  100 5 50 9000 40 3 2 1 7 0\ncpu0 50 2 25 4500 20 1 1 0 3 0\n";
    expect(parseProcStatCpu(stat)).toBe((100 + 5 + 50 + 3 + 2 + 1) * 10_000);
    expect(parseProcStatCpu("intr 1 2 3\n")).toBeUndefined();
  });

  it("takes MemTotal − MemFree − Inactive(file) as the working set", () => {
    const meminfo = "MemTotal:       8000 kB\nMemFree:        3000 kB\nInactive(file):  1000 kB\n";
    expect(parseMeminfoWorkingSet(meminfo)).toBe(4000 * 1024);
    expect(parseMeminfoWorkingSet("MemFree: 1 kB\n")).toBeUndefined();
  });
});

describe("cgroup files", () => {
  it("reads key-value stat files", () => {
    const m = parseFlatKeyed("usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n");
    expect(m.get("usage_usec")).toBe(1234);
  });
});

describe("latestAttempts", () => {
  it("keeps the highest attempt of each container of the pod and ignores other entries", () => {
    const other = "aaaaaaaa-6f0c-4a59-9a2b-3c1f8e7d6a51";
    const got = latestAttempts(
      [`${uid}_web_0`, `${uid}_web_2`, `${uid}_web_1`, `${uid}_side_0`, `${other}_web_9`, "cgroup.procs"],
      uid,
    );
    expect([...got]).toEqual([
      ["web", `${uid}_web_2`],
      ["side", `${uid}_side_0`],
    ]);
  });
});
