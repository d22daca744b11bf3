/* rootfs-mount: the node agent's long-lived helper that mounts and unmounts container root
 * filesystems (overlayfs), so a container start or removal costs no process: the agent would
 * otherwise fork itself for `mount -t overlay` per start and `umount` per removal.
 *
 *   rootfs-mount
 *
 * Requests come one per line on stdin, fields separated by tabs; each gets one line on stdout, `ok`
 * or `err<TAB>message` naming the step and the kernel's error. EOF on stdin ends the process.
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

#define MAX_FIELDS 5

/* Splits `line` at tabs into at most MAX_FIELDS fields; returns how many. */
static int split(char *line, char **fields) {
  int n = 0;
  for (char *save = NULL, *tok = strtok_r(line, "\t", &save); tok && n < MAX_FIELDS;
       tok = strtok_r(NULL, "\t", &save))
    fields[n++] = tok;
  return n;
}

int main(int argc, char **argv) {
  (void)argv;
  if (argc != 1) {
    fputs("usage: rootfs-mount\n", stderr);
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, stdin)) > 0) {
    if (line[len - 1] == '\n') line[len - 1] = '\0';
    char *f[MAX_FIELDS];
    int n = split(line, f);
    if (n == 4 && strcmp(f[0], "mount") == 0) {
      if (chdir(f[1]) < 0)
        printf("err\tchdir %s: %s\n", f[1], strerror(errno));
      else if (mount("overlay", f[3], "overlay", MS_NODEV, f[2]) < 0)
        printf("err\tmount overlay at %s: %s\n", f[3], strerror(errno));
      else
        puts("ok");
      /* Stay nowhere in particular: a held cwd would keep a layer directory busy. */
      if (chdir("/") < 0) return 1;
    } else if (n == 2 && (strcmp(f[0], "umount") == 0 || strcmp(f[0], "umount-lazy") == 0)) {
      int flags = strcmp(f[0], "umount") == 0 ? 0 : MNT_DETACH;
      if (umount2(f[1], flags) < 0)
        printf("err\tumount %s: %s\n", f[1], strerror(errno));
      else
        puts("ok");
    } else {
      printf("err\tunknown request \"%s\" with %d fields\n", n ? f[0] : "", n);
    }
  }
  free(line);
  return 0;
}
