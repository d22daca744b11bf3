import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { writeTar } from "./tar-writer.js";

describe("writeTar", () => {
  it("writes entries GNU tar lists with owners, devices, long paths and xattrs", () => {
    const long = `${"d".repeat(80)}/${"e".repeat(60)}`;
    const archive = writeTar([
      {
        path: "dir",
        type: "directory",
        mode: 0o750,
        uid: 12,
        gid: 34,
        mtime: 1000,
        xattrs: { "trusted.overlay.opaque": "y" },
      },
      { path: "dir/gone", type: "char-device", mode: 0, uid: 0, gid: 0, mtime: 0 },
      { path: long, type: "char-device", mode: 0, uid: 0, gid: 0, mtime: 0 },
    ]);
    expect(archive.length % 512).toBe(0);
    const listing = execFileSync("tar", ["-tv", "--numeric-owner", "--xattrs", "-f", "-"], {
      input: archive,
    }).toString();
    expect(listing).toMatch(/^drwxr-x---\*? +12\/34 .* dir\/$/m);
    expect(listing).toMatch(/^c---------\*? +0\/0 +0,0 .* dir\/gone$/m);
    expect(listing).toContain(long);
    const xattrs = execFileSync("tar", ["-tv", "--xattrs", "--xattrs-include=*", "-f", "-"], {
      input: archive,
    }).toString();
    expect(xattrs).toMatch(/^drwxr-x---\*/m);
  });
});
