import { lstat, mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildBusyboxRootfs } from "./busybox-rootfs.js";

describe("buildBusyboxRootfs", () => {
  let dir = "";
  afterEach(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  it("lays down busybox, applet links, users and mount points", async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-rootfs-"));
    await buildBusyboxRootfs(dir);
    expect((await lstat(join(dir, "bin/busybox"))).mode & 0o777).toBe(0o755);
    for (const applet of ["sh", "ls", "cat", "sleep", "httpd", "wget", "hostname", "kill"]) {
      expect(await readlink(join(dir, "bin", applet))).toBe("busybox");
    }
    expect(await readFile(join(dir, "etc/passwd"), "utf8")).toMatch(/^nobody:x:65534:65534:/m);
    expect(await readFile(join(dir, "etc/group"), "utf8")).toMatch(/^root:x:0:/m);
    for (const mnt of ["proc", "sys", "dev", "tmp"]) {
      expect((await lstat(join(dir, mnt))).isDirectory()).toBe(true);
    }
    expect((await lstat(join(dir, "tmp"))).mode & 0o7777).toBe(0o1777);
  });
});
