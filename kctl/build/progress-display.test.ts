import { describe, expect, it } from "vitest";
import { buildProgress } from "./progress-display.js";

function output(isTTY: boolean) {
  let text = "";
  return { out: { isTTY, write: (t: string) => (text += t) }, text: () => text };
}

describe("buildProgress", () => {
  it("prints each step, its time or CACHED, and a RUN's output on a terminal", () => {
    const o = output(true);
    const p = buildProgress(o.out);
    p.step(1, 3, "FROM busybox");
    p.done(12);
    p.step(2, 3, "RUN echo hi");
    p.output("hi\n");
    p.output("there\n");
    p.done(1534);
    p.step(3, 3, "COPY a /a");
    p.cached();
    p.done(3);
    expect(o.text()).toBe(
      "[1/3] FROM busybox\n  DONE 0.0s\n[2/3] RUN echo hi\n  | hi\n  | there\n  DONE 1.5s\n[3/3] COPY a /a\n  CACHED\n",
    );
  });

  it("is quiet when piped or asked to be", () => {
    for (const o of [output(false), output(true)]) {
      const p = o.out.isTTY ? buildProgress(o.out, true) : buildProgress(o.out);
      p.step(1, 1, "FROM busybox");
      p.output("x\n");
      p.done(1);
      expect(o.text()).toBe("");
    }
  });
});
