import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  lookupGroup,
  lookupUser,
  memberGroups,
  parseGroup,
  parsePasswd,
  readAccounts,
  readFileInRoot,
  splitImageUser,
} from "./image-user.js";

let dir: string;
let rootfs: string;
/** A file outside the rootfs that an image must never get the agent to read. */
let hostPasswd: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "image-user-"));
  rootfs = join(dir, "rootfs");
  await mkdir(join(rootfs, "etc"), { recursive: true });
  hostPasswd = join(dir, "host-passwd");
  await writeFile(hostPasswd, "hostadmin:x:0:0::/root:/bin/sh\n");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("reading an image's accounts", () => {
  it("parses passwd and group, skipping malformed lines", async () => {
    await writeFile(
      join(rootfs, "etc/passwd"),
      "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\nbroken:x:abc:1\n\n",
    );
    await writeFile(
      join(rootfs, "etc/group"),
      "root:x:0:\napp:x:1001:\nwheel:x:10:app,other\naudio:x:63:other\n",
    );
    const accounts = await readAccounts(rootfs);
    expect(accounts.passwd).toEqual([
      { name: "root", uid: 0, gid: 0 },
      { name: "app", uid: 1000, gid: 1001 },
    ]);
    expect(lookupUser(accounts, "app")).toEqual({ uid: 1000, gid: 1001, name: "app" });
    expect(lookupUser(accounts, "1000")).toEqual({ uid: 1000, gid: 1001, name: "app" });
    expect(lookupUser(accounts, "4242")).toEqual({ uid: 4242, gid: 0 });
    expect(() => lookupUser(accounts, "nobody")).toThrow(
      "unable to find user nobody: no matching entries in passwd file",
    );
    expect(lookupGroup(accounts, "wheel")).toBe(10);
    expect(lookupGroup(accounts, "77")).toBe(77);
    expect(() => lookupGroup(accounts, "staff")).toThrow("unable to find group staff");
    expect(memberGroups(accounts, "app")).toEqual([10]);
    expect(memberGroups(accounts, undefined)).toEqual([]);
  });

  it("treats missing files as no accounts", async () => {
    expect(await readAccounts(rootfs)).toEqual({ passwd: [], groups: [] });
    expect(await readAccounts(join(dir, "no-such-rootfs"))).toEqual({ passwd: [], groups: [] });
  });

  it("never follows an absolute symlink out of the rootfs", async () => {
    // An image shipping /etc/passwd -> /<the host's passwd>: resolved in the rootfs, that path
    // does not exist, so the image has no users; the host file's "hostadmin" is never seen.
    await symlink(hostPasswd, join(rootfs, "etc/passwd"));
    const accounts = await readAccounts(rootfs);
    expect(accounts.passwd).toEqual([]);
    expect(() => lookupUser(accounts, "hostadmin")).toThrow("unable to find user hostadmin");
  });

  it("resolves an absolute symlink against the rootfs (/etc/passwd -> /etc/shadow reads the image's)", async () => {
    await writeFile(join(rootfs, "etc/shadow"), "imageuser:x:7:7::/:/bin/sh\n");
    await symlink("/etc/shadow", join(rootfs, "etc/passwd"));
    expect(parsePasswd((await readFileInRoot(rootfs, "/etc/passwd"))!)).toEqual([
      { name: "imageuser", uid: 7, gid: 7 },
    ]);
  });

  it("stops .. at the rootfs, in relative symlinks and in directory symlinks", async () => {
    const depth = rootfs.split("/").length;
    await symlink(`${"../".repeat(depth + 3)}${hostPasswd.slice(1)}`, join(rootfs, "etc/passwd"));
    expect(await readFileInRoot(rootfs, "/etc/passwd")).toBeUndefined();
    await rm(join(rootfs, "etc"), { recursive: true });
    await symlink(dir, join(rootfs, "etc")); // /etc -> <the dir holding host-passwd>
    expect(await readFileInRoot(rootfs, "/etc/host-passwd")).toBeUndefined();
  });

  it("follows symlinks that stay inside, and refuses loops, FIFOs and directories", async () => {
    await mkdir(join(rootfs, "usr/share/base"), { recursive: true });
    await writeFile(join(rootfs, "usr/share/base/group"), "g:x:5:\n");
    await symlink("../usr/share/base/group", join(rootfs, "etc/group"));
    expect(parseGroup((await readFileInRoot(rootfs, "/etc/group"))!)).toEqual([
      { name: "g", gid: 5, members: [] },
    ]);
    await symlink("loop-b", join(rootfs, "etc/loop-a"));
    await symlink("loop-a", join(rootfs, "etc/loop-b"));
    await expect(readFileInRoot(rootfs, "/etc/loop-a")).rejects.toThrow("too many levels of symbolic links");
    execFileSync("mkfifo", [join(rootfs, "etc/passwd")]);
    await expect(readFileInRoot(rootfs, "/etc/passwd")).rejects.toThrow("/etc/passwd: not a regular file");
    await expect(readFileInRoot(rootfs, "/usr/share")).rejects.toThrow("not a regular file");
  });
});

describe("splitImageUser", () => {
  it.each([
    ["", { user: "", group: undefined }],
    ["1000", { user: "1000", group: undefined }],
    ["app:staff", { user: "app", group: "staff" }],
    ["1000:", { user: "1000", group: "" }],
  ])("%j", (text, want) => {
    expect(splitImageUser(text)).toEqual(want);
  });
});
