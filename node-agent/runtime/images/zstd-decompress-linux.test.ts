/**
 * zstd layers through Debian's zstd: decoded as gzip ones are, a damaged stream refused naming the
 * file and zstd's reason, and a small frame that expands past the layer limit (a decompression
 * bomb) stopped by the size limit with zstd killed.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pipeUncompressed } from "./checked-extract-linux.js";
import { sha256Digest } from "./digest.js";
import { diffIdOf } from "./layer-unpack-linux.js";

describe("zstd layers", () => {
  let dir: string;
  const zstd = (name: string, content: Buffer) => {
    writeFileSync(join(dir, name), content);
    execFileSync("zstd", ["-q", "-f", join(dir, name), "-o", join(dir, `${name}.zst`)]);
    return join(dir, `${name}.zst`);
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "kctl-zstd-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("are decoded to the bytes that were compressed", async () => {
    const content = Buffer.from("layer bytes\n".repeat(10_000));
    const file = zstd("plain", content);
    const chunks: Buffer[] = [];
    await pipeUncompressed(file, [], async (source) => {
      for await (const c of source) chunks.push(c as Buffer);
    });
    expect(Buffer.concat(chunks)).toEqual(content);
    expect(await diffIdOf(file, 1 << 20, "layer")).toBe(sha256Digest(content));
  });

  it("refuses a damaged stream naming the file", async () => {
    const file = zstd("cut", Buffer.from(readFileSync(process.execPath).subarray(0, 1 << 20)));
    truncateSync(file, 1000);
    await expect(diffIdOf(file, 1 << 30, "layer")).rejects.toMatchObject({
      code: "InvalidImage",
      message: expect.stringMatching(new RegExp(`^${file}: not a readable zstd stream: .+`)),
    });
  });

  it("stops a decompression bomb at the size limit", async () => {
    // 256 MiB of zeros compress to a few KiB.
    const file = join(dir, "bomb.zst");
    execFileSync("sh", ["-c", `head -c 268435456 /dev/zero | zstd -q -o '${file}'`]);
    expect(readFileSync(file).length).toBeLessThan(64 << 10);
    await expect(diffIdOf(file, 1 << 20, "image x layers[0]: uncompressed layer")).rejects.toMatchObject({
      code: "TooLarge",
    });
  });
});
