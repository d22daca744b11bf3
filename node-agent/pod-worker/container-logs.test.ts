import { appendFile, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
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

  it("says when it has started following, so a reply to input sent then is never skipped", async () => {
    let done = false;
    let out = "";
    const following = streamLog(path, (c) => (out += c), {
      follow: true,
      tailLines: 0,
      pollMs: 10,
      finished: async () => done,
      // stands in for attach connecting stdin: the container answers at once
      started: () => void appendFile(path, "2026-01-02T03:04:06.000000000Z stdout F reply\n"),
    });
    await new Promise((r) => setTimeout(r, 50));
    done = true;
    await following;
    expect(out).toBe("reply\n");
  });

  const record = (n: number, text: string) =>
    `2026-01-02T03:04:${String(n).padStart(2, "0")}.000000000Z stdout F ${text}\n`;

  it("reads the rotated files first, oldest to newest, for the whole log and the tail", async () => {
    // the monitor's rotation: 0.log.2 oldest, then 0.log.1, then 0.log
    await writeFile(`${path}.2`, record(1, "a") + record(2, "b"));
    await writeFile(`${path}.1`, record(3, "c"));
    await rename(path, `${path}.keep`);
    await writeFile(path, record(4, "d"));
    expect(await collect({})).toBe("a\nb\nc\nd\n");
    expect(await collect({ tailLines: 3 })).toBe("b\nc\nd\n");
  });

  it("follows across rotations, including two between polls", async () => {
    let done = false;
    let out = "";
    const following = streamLog(path, (c) => (out += c), {
      follow: true,
      pollMs: 20,
      finished: async () => done,
    });
    await new Promise((r) => setTimeout(r, 40));
    // one rotation: the rest of the old file lands before the rename
    await appendFile(path, record(6, "four"));
    await rename(path, `${path}.1`);
    await writeFile(path, record(7, "five"));
    await new Promise((r) => setTimeout(r, 60));
    // two rotations before the reader looks again
    await rename(`${path}.1`, `${path}.2`);
    await rename(path, `${path}.1`);
    await writeFile(path, record(8, "six"));
    await rename(`${path}.2`, `${path}.3`);
    await rename(`${path}.1`, `${path}.2`);
    await rename(path, `${path}.1`);
    await writeFile(path, record(9, "seven"));
    await new Promise((r) => setTimeout(r, 60));
    done = true;
    await following;
    expect(out).toBe("one\ntwo\nthree\nfour\nfive\nsix\nseven\n");
  });
});
