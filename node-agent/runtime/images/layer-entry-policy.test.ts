import { describe, expect, it } from "vitest";
import { LayerEntryPolicy, normaliseName } from "./layer-entry-policy.js";
import type { TarReadEntry } from "./tar-reader.js";

const entry = (name: string, type: TarReadEntry["type"] = "file", linkName = ""): TarReadEntry => ({
  name,
  type,
  size: 0,
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: 0,
  linkName,
  devMajor: 0,
  devMinor: 0,
  xattrs: new Map(),
});

describe("normaliseName", () => {
  it.each([
    ["./a/b", "a/b"],
    ["a//b/./c/", "a/b/c"],
    ["a/../b", "b"],
    ["./", ""],
  ])("%s -> %s", (name, want) => expect(normaliseName(name)).toBe(want));

  it.each([
    ["/etc/passwd", /absolute path/],
    ["../x", /climbs out of the layer/],
    ["a/../../x", /climbs out of the layer/],
  ])("refuses %s", (name, why) => expect(() => normaliseName(name)).toThrow(why));
});

describe("LayerEntryPolicy", () => {
  it("follows what the layer made so far: symlinks block what lies beneath them", () => {
    const p = new LayerEntryPolicy(true);
    expect(p.decide(entry("usr/", "directory"))).toEqual({ action: "write", path: "usr" });
    expect(p.decide(entry("lib", "symlink", "usr/lib"))).toEqual({ action: "write", path: "lib" });
    expect(() => p.decide(entry("lib/libc.so"))).toThrow(/parent "lib" is a symlink/);
    // Replaced by a file, the name is no longer a symlink, but nothing can go beneath a file either.
    p.decide(entry("lib"));
    expect(() => p.decide(entry("lib/x"))).toThrow(/parent "lib" is not a directory/);
  });

  it("takes whiteouts out of the stream and checks what they hide", () => {
    const p = new LayerEntryPolicy(true);
    expect(p.decide(entry("etc/.wh.motd"))).toEqual({ action: "whiteout", path: "etc/motd" });
    expect(p.decide(entry("var/.wh..wh..opq"))).toEqual({ action: "opaque", path: "var" });
    expect(p.decide(entry(".wh..wh..opq"))).toEqual({ action: "opaque", path: "" });
    expect(p.decide(entry(".wh..wh.plnk"))).toMatchObject({ action: "skip" });
    expect(() => p.decide(entry("etc/motd"))).toThrow(/written after its own whiteout/);
    expect(() => p.decide(entry("etc/motd/x"))).toThrow(/parent "etc\/motd" is not a directory/);
    // In an archive (not a layer) the same names are plain files.
    expect(new LayerEntryPolicy(false).decide(entry(".wh...")).action).toBe("write");
  });

  it("skips devices and FIFOs and hard links to them", () => {
    const p = new LayerEntryPolicy(true);
    expect(p.decide(entry("dev/null", "char-device"))).toMatchObject({ action: "skip" });
    expect(p.decide(entry("dev/sda", "block-device"))).toMatchObject({ action: "skip" });
    expect(p.decide(entry("run/fifo", "fifo"))).toMatchObject({ action: "skip" });
    expect(p.decide(entry("null2", "hardlink", "dev/null"))).toMatchObject({ action: "skip" });
    expect(() => p.decide(entry("dir-link", "hardlink", "dev"))).toThrow(/hard link to the directory "dev"/);
    expect(() => p.decide(entry("x", "char-device")) && p.decide(entry("x/y"))).toThrow(/not a directory/);
  });
});
