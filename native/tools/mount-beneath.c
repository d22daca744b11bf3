/* mount-beneath: bind-mounts a path found strictly inside a directory, for the node agent's
 * volume subPaths (the kubelet's "safe subpath" mounts, after CVE-2017-1002101).
 *
 *   mount-beneath ROOT SUBPATH TARGET
 *
 * SUBPATH is resolved inside ROOT with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): a symlink
 * that points outside ROOT (absolute, or with enough "..") fails instead of being followed, however
 * the pod arranged it. Missing directories of SUBPATH are created one component at a time, each
 * opened with RESOLVE_NO_SYMLINKS, as the kubelet creates a subPath that does not exist yet. The
 * resolved object is then attached at TARGET from its file descriptor (open_tree + move_mount), so
 * what gets mounted is the object checked, not whatever the path names a moment later. TARGET is
 * created (an empty file or directory, matching the object) when absent; its parent must exist.
 *
 * The agent runs this on the host before creating the container, and gives the runtime TARGET as
 * the bind mount's source. Exit status 0 on success; 1 with one line on stderr otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *subpath_arg;

__attribute__((noreturn, format(printf, 2, 3))) static void fail(int errnum, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "mount-beneath: subPath \"%s\": ", subpath_arg);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (errnum) fprintf(stderr, ": %s (errno %d)", strerror(errnum), errnum);
  fputc('\n', stderr);
  exit(1);
}

static int openat2_(int dirfd, const char *path, unsigned long long flags, unsigned long long resolve) {
  struct open_how how = {.flags = flags, .resolve = resolve};
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/* Why a resolution failed, in the words a pod's author can act on. */
static void fail_resolve(int errnum, const char *what) {
  if (errnum == EXDEV || errnum == ELOOP)
    fail(0, "%s leaves the volume (a symlink or \"..\" points outside it)", what);
  fail(errnum, "open %s inside the volume", what);
}

/* Creates the missing directories of SUBPATH under root, refusing any symlink on the way. */
static void make_dirs(int root) {
  char *copy = strdup(subpath_arg);
  if (!copy) fail(ENOMEM, "strdup");
  int cur = dup(root);
  if (cur < 0) fail(errno, "dup");
  for (char *save = NULL, *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
    if (strcmp(comp, ".") == 0) continue;
    int next = openat2_(cur, comp, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    if (next < 0 && errno == ENOENT) {
      if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) fail(errno, "mkdir component \"%s\"", comp);
      next = openat2_(cur, comp, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    }
    if (next < 0) fail_resolve(errno, "a component");
    close(cur);
    cur = next;
  }
  close(cur);
  free(copy);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: mount-beneath ROOT SUBPATH TARGET\n");
    return 2;
  }
  const char *root_path = argv[1], *target = argv[3];
  subpath_arg = argv[2];
  if (subpath_arg[0] == '\0' || subpath_arg[0] == '/') fail(0, "must be a relative path");

  int root = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail(errno, "open volume %s", root_path);
  const unsigned long long resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  int obj = openat2_(root, subpath_arg, O_PATH | O_CLOEXEC, resolve);
  if (obj < 0 && errno == ENOENT) {
    make_dirs(root);
    obj = openat2_(root, subpath_arg, O_PATH | O_CLOEXEC, resolve);
  }
  if (obj < 0) fail_resolve(errno, "the path");

  struct stat st;
  if (fstat(obj, &st) < 0) fail(errno, "stat");
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
    fail(0, "is neither a directory nor a regular file (mode %o)", st.st_mode & S_IFMT);

  struct stat tst;
  if (lstat(target, &tst) < 0) {
    if (errno != ENOENT) fail(errno, "stat mount target %s", target);
    int made = S_ISDIR(st.st_mode) ? mkdir(target, 0755) : mknod(target, S_IFREG | 0644, 0);
    if (made < 0) fail(errno, "create mount target %s", target);
  } else if ((S_ISDIR(tst.st_mode) != 0) != (S_ISDIR(st.st_mode) != 0)) {
    fail(0, "mount target %s exists as another file type", target);
  }

  int tree = (int)syscall(SYS_open_tree, obj, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0) fail(errno, "open_tree");
  if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    fail(errno, "move_mount to %s", target);
  return 0;
}
