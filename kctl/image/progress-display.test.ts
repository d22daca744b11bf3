import { describe, expect, it } from "vitest";
import { formatBytes, progressDisplay } from "./progress-display.js";

const digest = `sha256:${"ab".repeat(32)}`;

describe("progressDisplay", () => {
  it("draws nothing when the output is not a terminal", () => {
    let text = "";
    const display = progressDisplay({ write: (t) => (text += t) }, "Downloading");
    display.listener({ digest, size: 10, state: "moving", bytes: 5 });
    display.finish();
    expect(text).toBe("");
  });

  it("redraws one line per blob in place on a terminal, at most every 100 ms while bytes move", () => {
    let text = "";
    let clock = 1000;
    const out = { isTTY: true, write: (t: string | Uint8Array) => (text += t) };
    const display = progressDisplay(out, "Downloading", () => clock);
    display.listener({ digest, size: 2_000_000, state: "moving", bytes: 1000 });
    display.listener({ digest, size: 2_000_000, state: "moving", bytes: 2000 }); // same instant: not drawn
    clock += 100;
    display.listener({ digest: `sha256:${"cd".repeat(32)}`, size: 7, state: "present", bytes: 0 });
    display.listener({ digest, size: 2_000_000, state: "done", bytes: 2_000_000 });
    display.finish();
    expect(text.startsWith("\x1b[2Kabababababab: Downloading 1.00kB/2.00MB\n\x1b[1A")).toBe(true);
    expect(text).toContain(
      "\x1b[1A\x1b[2Kabababababab: Downloading 2.00kB/2.00MB\n\x1b[2Kcdcdcdcdcdcd: Already exists\n",
    );
    expect(
      text.endsWith("\x1b[2A\x1b[2Kabababababab: Pull complete\n\x1b[2Kcdcdcdcdcdcd: Already exists\n"),
    ).toBe(true);
  });

  it("formats bytes as docker does", () => {
    expect([formatBytes(999), formatBytes(1500), formatBytes(104_857_600)]).toEqual([
      "999B",
      "1.50kB",
      "104.9MB",
    ]);
  });
});
