/**
 * Builds a minimal root filesystem from Debian's statically linked busybox (package busybox-static).
 * It is the rootfs of every test bundle for the native shim, crun and runc, and the base of test OCI
 * images; it owns nothing after it returns.
 */
import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Where Debian's busybox-static installs the binary. */
export const HOST_BUSYBOX = "/bin/busybox";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP = "root:x:0:\nnogroup:x:65534:\nnobody:x:65534:\n";
const HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

/**
 * Lays down a minimal rootfs in `dir` (created if missing; existing files of the same names are an
 * error, so pass a fresh directory): `/bin/busybox` copied from the host, one symlink
 * `/bin/<applet> -> busybox` for every applet `busybox --list` reports, `/etc/passwd` and
 * `/etc/group` with root and nobody, an `/etc/hosts` stub, and the empty mount points `/proc`,
 * `/sys`, `/dev`, `/tmp` (mode 1777) and `/root`.
 *
 * Requires busybox-static on the host; throws naming {@link HOST_BUSYBOX} when it is missing.
 */
export async function buildBusyboxRootfs(dir: string): Promise<void> {
  let applets: string[];
  try {
    const { stdout } = await run(HOST_BUSYBOX, ["--list"]);
    applets = stdout.split("\n").filter((name) => name !== "" && name !== "busybox");
  } catch (err) {
    throw new Error(`buildBusyboxRootfs: cannot run ${HOST_BUSYBOX} --list (install busybox-static)`, {
      cause: err,
    });
  }
  for (const sub of ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "usr/bin"]) {
    await mkdir(join(dir, sub), { recursive: true });
  }
  await chmod(join(dir, "tmp"), 0o1777);
  await copyFile(HOST_BUSYBOX, join(dir, "bin/busybox"));
  await chmod(join(dir, "bin/busybox"), 0o755);
  for (const applet of applets) {
    await symlink("busybox", join(dir, "bin", applet));
  }
  // Scripts written for other systems often start with #!/usr/bin/env.
  await symlink("../../bin/busybox", join(dir, "usr/bin/env"));
  await writeFile(join(dir, "etc/passwd"), PASSWD);
  await writeFile(join(dir, "etc/group"), GROUP);
  await writeFile(join(dir, "etc/hosts"), HOSTS);
}
