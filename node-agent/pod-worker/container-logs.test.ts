import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { streamLog } from "./container-logs.js";

describe("streamLog", () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "logs-"));
    path = join(dir, "0.log");
    await writeFile(
      path,
      [
        "2026-01-02T03:04:05.000000001Z stdout F one",
        "2026-01-02T03:04:05.000000002Z stderr P tw",
        "2026-01-02T03:04:05.000000003Z stderr F o",
        "2026-01-02T03:04:05.000000004Z stdout F three",
        "",
      ].join("\n"),
    );
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const collect = async (opts: Parameters<typeof streamLog>[2]) => {
    let out = "";
    await streamLog(path, (c) => (out += c), opts);
    return out;
  };

  it("joins partial records and keeps the order of both streams", async () => {
    expect(await collect({})).toBe("one\ntwo\nthree\n");
  });

  it("gives the last N lines, with timestamps on request", async () => {
    expect(await collect({ tailLines: 2, timestamps: true })).toBe(
      "2026-01-02T03:04:05.000000002Z two\n2026-01-02T03:04:05.000000004Z three\n",
    );
  });

  it("follows the file until the container is finished", async () => {
    let done = false;
    let out = "";
    const following = streamLog(path, (c) => (out += c), {
      follow: true,
      pollMs: 10,
      finished: async () => done,
    });
    await new Promise((r) => setTimeout(r, 30));
    await appendFile(path, "2026-01-02T03:04:06.000000000Z stdout F four\n");
    await new Promise((r) => setTimeout(r, 50));
    done = true;
    await following;
    expect(out).toBe("one\ntwo\nthree\nfour\n");
  });
});
