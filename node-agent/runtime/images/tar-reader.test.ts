import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TarFormatError, type TarReadEntry, TarReader } from "./tar-reader.js";
import { writeTar } from "./tar-writer.js";

async function readAll(archive: Buffer): Promise<(TarReadEntry & { text: string })[]> {
  // Chunks that cut blocks in two, as a gunzip stream does.
  const reader = new TarReader(
    (async function* () {
      for (let at = 0; at < archive.length; at += 700) yield archive.subarray(at, at + 700);
    })(),
  );
  const out: (TarReadEntry & { text: string })[] = [];
  for (let e = await reader.next(); e !== undefined; e = await reader.next()) {
    const parts: Buffer[] = [];
    // Every other file's data is left unread, which next() must skip.
    if (out.length % 2 === 0) for await (const chunk of reader.data()) parts.push(chunk);
    out.push({ ...e, text: Buffer.concat(parts).toString() });
  }
  return out;
}

describe("TarReader", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each(["gnu", "pax", "ustar"])(
    "reads what GNU tar writes in %s format, long names included",
    async (format) => {
      dir = mkdtempSync(join(tmpdir(), "kctl-tar-"));
      const deep = join("d".repeat(90), "e".repeat(90));
      mkdirSync(join(dir, "src", deep), { recursive: true });
      writeFileSync(join(dir, "src", deep, "f"), "x".repeat(1500));
      writeFileSync(join(dir, "src", "small"), "hi");
      symlinkSync("small", join(dir, "src", "link"));
      const archive = execFileSync("tar", [
        `--format=${format}`,
        "-C",
        join(dir, "src"),
        "--sort=name",
        "-cf",
        "-",
        ".",
      ]);
      const entries = await readAll(archive);
      const byName = new Map(entries.map((e) => [e.name.replace(/^\.\//, ""), e]));
      expect(byName.get(`${deep}/f`)?.type).toBe("file");
      expect(byName.get(`${deep}/f`)?.size).toBe(1500);
      expect(byName.get(`${deep}/`)?.type).toBe("directory");
      expect(byName.get("link")).toMatchObject({ type: "symlink", linkName: "small" });
      expect(byName.get("small")?.size).toBe(2);
    },
  );

  it("reads the writer's own entries with binary xattrs and large ids through pax", async () => {
    const archive = writeTar([
      {
        path: "bin/ping",
        type: "file",
        mode: 0o4755,
        uid: 3_000_000,
        gid: 7,
        mtime: 5,
        xattrs: new Map([["security.capability", Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0])]]),
        data: Buffer.from("elf"),
      },
      { path: "hl", type: "hardlink", linkPath: "bin/ping", mode: 0o644, uid: 0, gid: 0, mtime: 0 },
    ]);
    const [ping, hl] = await readAll(archive);
    expect(ping).toMatchObject({ name: "bin/ping", mode: 0o4755, uid: 3_000_000, gid: 7, text: "elf" });
    expect(ping!.xattrs.get("security.capability")).toEqual(Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0]));
    expect(hl).toMatchObject({ type: "hardlink", linkName: "bin/ping" });
  });

  it("refuses what it would have to guess at", async () => {
    const one = writeTar([
      { path: "f", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: 0, data: Buffer.from("x") },
    ]);
    const corrupt = Buffer.from(one);
    corrupt[10] = 0x41;
    await expect(readAll(corrupt)).rejects.toThrow(TarFormatError);
    await expect(readAll(corrupt)).rejects.toThrow("bad header checksum at offset 0");

    const withData = Buffer.from(
      writeTar([{ path: "d", type: "directory", mode: 0o755, uid: 0, gid: 0, mtime: 0 }]),
    );
    withData.write("00000001000\0", 124, "ascii");
    fixChecksum(withData);
    await expect(readAll(withData)).rejects.toThrow(
      /directory entry "d\/" at offset 0 carries 512 bytes of data/,
    );

    const sparse = Buffer.from(one);
    sparse.write("S", 156, "ascii");
    fixChecksum(sparse);
    await expect(readAll(sparse)).rejects.toThrow(/unsupported entry type 'S' at offset 0/);

    const truncated = one.subarray(0, 600);
    await expect(readAll(truncated)).rejects.toThrow(/archive ends/);
  });
});

function fixChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += block[i]!;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
}
