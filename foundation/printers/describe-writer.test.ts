import { describe, expect, it } from "vitest";
import { DescribeWriter, describeTime } from "./describe-writer.js";

describe("DescribeWriter", () => {
  it("aligns values within each run of labelled lines, like kubectl's tabwriter", () => {
    const w = new DescribeWriter();
    w.field(0, "Name", "web");
    w.map(0, "Labels", { b: "2", a: "1" });
    w.field(0, "Annotations", undefined);
    w.section(0, "Containers");
    w.section(2, "web");
    w.field(4, "Image", "nginx");
    w.field(4, "Restart Count", 0);
    w.table(0, "Events", ["Type", "Reason"], [["Normal", "Pulled"]], ["----", "------"]);
    w.table(0, "Conditions", ["Type"], []);
    expect(w.toString()).toBe(
      [
        "Name:         web",
        "Labels:       a=1",
        "              b=2",
        "Annotations:  <none>",
        "Containers:",
        "  web:",
        "    Image:          nginx",
        "    Restart Count:  0",
        "Events:",
        "  Type    Reason",
        "  ----    ------",
        "  Normal  Pulled",
        "Conditions:  <none>",
        "",
      ].join("\n"),
    );
  });

  it("formats times as kubectl describe does, in UTC", () => {
    expect(describeTime("2026-01-02T15:04:05Z")).toBe("Fri, 02 Jan 2026 15:04:05 +0000");
    expect(describeTime(undefined)).toBe("<unset>");
    expect(describeTime("soon")).toBe("soon");
  });
});
