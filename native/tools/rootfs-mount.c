/* rootfs-mount: the node agent's long-lived helper that mounts and unmounts container root
 * filesystems (overlayfs), so a container start or removal costs no process: the agent would
 * otherwise fork itself for `mount -t overlay` per start and `umount` per removal.
 *
 *   rootfs-mount
 *
 * Requests come one per line on stdin, in the helpers' line protocol (line-protocol.h: an id first,
 * echoed in the answer); each gets `ok` or `err<TAB>message` naming the step and the kernel's error,
 * one request at a time. EOF on stdin ends the process.
 *
 *   mount DIR OPTIONS TARGET
 *       mounts an overlay at TARGET with the mount data OPTIONS (lowerdir=...,upperdir=...,
 *       workdir=...), nodev, from the directory DIR (relative lowerdirs are resolved there, which
 *       keeps the data within its one page): what `cd DIR && mount -t overlay overlay -o nodev,OPTIONS
 *       TARGET` does.
 *   umount TARGET
 *       unmounts the topmost mount at TARGET (`umount TARGET`).
 *   umount-lazy TARGET
 *       detaches it even while busy (`umount --lazy TARGET`).
 *
 * It runs in the agent's mount namespace (it is the agent's child), so its mounts are the agent's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "line-protocol.h"

#define MAX_FIELDS 4

static void handle(const char *id, char **f, int n) {
  if (n == 4 && strcmp(f[0], "mount") == 0) {
    if (chdir(f[1]) < 0)
      lp_err(id, "chdir %s: %s", f[1], strerror(errno));
    else if (mount("overlay", f[3], "overlay", MS_NODEV, f[2]) < 0)
      lp_err(id, "mount overlay at %s: %s", f[3], strerror(errno));
    else
      lp_ok(id, NULL);
    /* Stay nowhere in particular: a held cwd would keep a layer directory busy. */
    if (chdir("/") < 0) exit(1);
  } else if (n == 2 && (strcmp(f[0], "umount") == 0 || strcmp(f[0], "umount-lazy") == 0)) {
    int flags = strcmp(f[0], "umount") == 0 ? 0 : MNT_DETACH;
    if (umount2(f[1], flags) < 0)
      lp_err(id, "umount %s: %s", f[1], strerror(errno));
    else
      lp_ok(id, NULL);
  } else {
    lp_err(id, "unknown request \"%s\" with %d fields", n ? f[0] : "", n);
  }
}

int main(int argc, char **argv) {
  (void)argv;
  if (argc != 1) {
    fputs("usage: rootfs-mount\n", stderr);
    return 1;
  }
  return lp_serve(MAX_FIELDS, handle) < 0 ? 1 : 0;
}
