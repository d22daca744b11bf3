/* Mounts, devices and pivot_root for the container init (see mount.h). Targets are opened with
 * openat2(RESOLVE_IN_ROOT) and mounted through /proc/self/fd so that the rootfs content cannot
 * redirect them. */
#define _GNU_SOURCE
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "trace.h"

static int openat2_in_root(int rootfd, const char *path, int flags) {
  struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  while (*path == '/') path++;
  if (*path == '\0') path = ".";
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* Opens (O_PATH) path inside the rootfs, making missing directories and, if file, the last
 * component as an empty file. */
static int open_or_make(int rootfd, const char *path, bool file, struct kerr *err) {
  int fd = openat2_in_root(rootfd, path, O_PATH);
  if (fd >= 0 || errno != ENOENT) return fd >= 0 ? fd : kerr_set(err, errno, "open %s in rootfs", path);
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  char *slash = strrchr(buf, '/');
  const char *name = slash != NULL ? slash + 1 : buf;
  if (slash != NULL) *slash = '\0';
  _cleanup_close_ int parent = open_or_make(rootfd, slash == buf || slash == NULL ? "/" : buf, false, err);
  if (parent < 0) return -1;
  _cleanup_close_ int dirfd = -1;
  /* an O_PATH fd cannot be a mkdirat/openat base for creation on every kernel; reopen it */
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", parent);
  dirfd = open(proc, O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return kerr_set(err, errno, "open %s in rootfs", buf);
  if (file) {
    int f = openat(dirfd, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0 && errno != EEXIST) return kerr_set(err, errno, "create %s in rootfs", path);
    if (f >= 0) close(f);
  } else if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST) {
    return kerr_set(err, errno, "mkdir %s in rootfs", path);
  }
  fd = openat2_in_root(rootfd, path, O_PATH);
  return fd >= 0 ? fd : kerr_set(err, errno, "open %s in rootfs", path);
}

/* The MS_NOSUID/MS_NODEV/MS_NOEXEC/MS_RDONLY flags a mount has now (statvfs of a path on it). */
static unsigned long mount_flags_of(int fd) {
  struct statvfs sv;
  unsigned long flags = 0;
  if (fstatvfs(fd, &sv) < 0) return 0;
  if (sv.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  return flags;
}

/* Remounts the bind mount at dest with flags plus those of keep it already has (the kernel
 * refuses to clear locked ones, and a read-only source must stay so). */
static int remount_bind(int rootfd, const char *dest, unsigned long flags, unsigned long keep, struct kerr *err) {
  /* reopen: the fd taken before the mount names the covered directory, not the new mount */
  _cleanup_close_ int fd = openat2_in_root(rootfd, dest, O_PATH);
  if (fd < 0) return kerr_set(err, errno, "open %s in rootfs", dest);
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  flags |= mount_flags_of(fd) & keep;
  if (mount(NULL, proc, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
    return kerr_set(err, errno, "remount %s", dest);
  return 0;
}

#define KEEP_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* Opens (O_PATH) a directory inside the rootfs as a real directory fd, for *at() calls. */
static int open_dir_in_root(int rootfd, const char *path, struct kerr *err) {
  _cleanup_close_ int fd = open_or_make(rootfd, path, false, err);
  if (fd < 0) return -1;
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  int dir = open(proc, O_DIRECTORY | O_CLOEXEC);
  return dir >= 0 ? dir : kerr_set(err, errno, "open %s in rootfs", path);
}

/* The `cgroup` mount type, as runc does it. v2: the cgroup2 filesystem, whose root is the
 * container's cgroup through its cgroup namespace. v1: a tmpfs with one mount of each hierarchy
 * the container was placed in (same namespace rooting), named like the host's ("cpu,cpuacct",
 * plus a link per controller), then the tmpfs made read-only if the mount is. */
static int mount_cgroup(int rootfd, const struct mount_spec *m, size_t index, int target, const struct cgroup *cg,
                        struct kerr *err) {
  char proc[64], path[PATH_MAX];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", target);
  if (cg->ops->version == 2) {
    if (mount("cgroup2", proc, "cgroup2", m->flags, NULL) < 0)
      return kerr_set(err, errno, "mounts[%zu]: mount cgroup2 on %s", index, m->destination);
    return 0;
  }
  unsigned long base = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (mount("tmpfs", proc, "tmpfs", base, "mode=755") < 0)
    return kerr_set(err, errno, "mounts[%zu]: mount tmpfs on %s", index, m->destination);
  _cleanup_close_ int dir = open_dir_in_root(rootfd, m->destination, err);
  if (dir < 0) return kerr_wrap(err, "mounts[%zu]", index);
  for (size_t i = 0; i < cg->n; i++) {
    const char *ctrls = cg->controllers[i];
    snprintf(path, sizeof path, "%s/%s", m->destination, ctrls);
    _cleanup_close_ int sub = open_or_make(rootfd, path, false, err);
    if (sub < 0) return kerr_wrap(err, "mounts[%zu]", index);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", sub);
    if (mount("cgroup", proc, "cgroup", m->flags, ctrls) < 0)
      return kerr_set(err, errno, "mounts[%zu]: mount cgroup \"%s\" on %s", index, ctrls, path);
    if (strchr(ctrls, ',') == NULL) continue;
    char list[256];
    snprintf(list, sizeof list, "%s", ctrls);
    char *save = NULL;
    for (char *c = strtok_r(list, ",", &save); c != NULL; c = strtok_r(NULL, ",", &save))
      if (symlinkat(ctrls, dir, c) < 0 && errno != EEXIST)
        return kerr_set(err, errno, "mounts[%zu]: link %s/%s", index, m->destination, c);
  }
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", dir);
  if ((m->flags & MS_RDONLY) && mount(NULL, proc, NULL, MS_REMOUNT | base | MS_RDONLY, "mode=755") < 0)
    return kerr_set(err, errno, "mounts[%zu]: remount %s read-only", index, m->destination);
  return 0;
}

int mount_idmapped_tree(const struct mount_spec *m, const char *field, int userns_fd, struct kerr *err) {
  int fd = (int)syscall(SYS_open_tree, AT_FDCWD, m->source,
                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (m->recursive ? AT_RECURSIVE : 0));
  if (fd < 0) return kerr_set(err, errno, "%s: open_tree %s", field, m->source);
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd};
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (m->recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0) {
    int e = errno;
    close(fd);
    return kerr_set(err, e, "%s: idmapped mount of %s%s", field, m->source,
                    e == EINVAL || e == EOPNOTSUPP ? " (its filesystem or this kernel has no idmapped mounts)" : "");
  }
  return fd;
}

static int mount_one(int rootfd, const struct mount_spec *m, size_t index, const struct cgroup *cg, struct kerr *err) {
  bool file = false;
  if (m->bind) {
    struct stat st;
    if (stat(m->source, &st) < 0) return kerr_set(err, errno, "mounts[%zu].source %s", index, m->source);
    file = !S_ISDIR(st.st_mode);
  }
  _cleanup_close_ int target = open_or_make(rootfd, m->destination, file, err);
  if (target < 0) return kerr_wrap(err, "mounts[%zu].destination", index);
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", target);
  if (m->bind) {
    if (m->idmap) {
      if (syscall(SYS_move_mount, m->idmap_fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return kerr_set(err, errno, "mounts[%zu]: attach the idmapped %s on %s", index, m->source, m->destination);
    } else if (mount(m->source, proc, NULL, MS_BIND | (m->recursive ? MS_REC : 0), NULL) < 0) {
      return kerr_set(err, errno, "mounts[%zu]: bind %s on %s", index, m->source, m->destination);
    }
    unsigned long extra = m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
    if ((m->readonly || extra != 0) &&
        remount_bind(rootfd, m->destination, extra | (m->readonly ? MS_RDONLY : 0), KEEP_FLAGS, err) < 0)
      return kerr_wrap(err, "mounts[%zu]", index);
  } else if (strcmp(m->type, "cgroup") == 0) {
    if (mount_cgroup(rootfd, m, index, target, cg, err) < 0) return -1;
  } else {
    const char *source = m->source != NULL ? m->source : m->type;
    /* /dev holds device nodes: only the default ones, bind-mounted over it, may open (make_devices) */
    unsigned long flags = m->flags | (strcmp(m->destination, "/dev") == 0 ? MS_NODEV : 0);
    bool sysfs = strcmp(m->type, "sysfs") == 0;
    int rc = mount(source, proc, m->type, flags, m->data);
    /* a user namespace cannot mount sysfs for a network namespace it does not own (a pod's,
     * joined by path): bind the host's /sys instead, as runc does, with the same flags */
    if (rc < 0 && errno == EPERM && sysfs && (rc = mount("/sys", proc, NULL, MS_BIND | MS_REC, NULL)) == 0 &&
        remount_bind(rootfd, m->destination, m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC), KEEP_FLAGS,
                     err) < 0)
      return kerr_wrap(err, "mounts[%zu]: bind the host's /sys", index);
    if (rc < 0)
      return kerr_set(err, errno, "mounts[%zu]: mount %s on %s (options \"%s\")", index, m->type, m->destination,
                      m->data != NULL ? m->data : "");
  }
  if (m->propagation != 0) {
    _cleanup_close_ int top = openat2_in_root(rootfd, m->destination, O_PATH);
    char p2[64];
    snprintf(p2, sizeof p2, "/proc/self/fd/%d", top);
    if (top < 0 || mount(NULL, p2, NULL, m->propagation, NULL) < 0)
      return kerr_set(err, errno, "mounts[%zu]: propagation of %s", index, m->destination);
  }
  return 0;
}

/* The default device nodes are bind mounts of the host's own nodes onto empty files of the
 * container's /dev, which (like the rootfs) is mounted nodev: the only devices that open inside
 * the container are these, whatever nodes a process with CAP_MKNOD makes (runc does the same in
 * user namespaces). Runs before pivot_root, so /dev/<name> is the host's. */
static int make_devices(int rootfd, struct kerr *err) {
  static const struct {
    const char *name;
    unsigned major, minor;
  } devices[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  static const struct {
    const char *name, *target;
  } links[] = {{"fd", "/proc/self/fd"},          {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
               {"stderr", "/proc/self/fd/2"},    {"ptmx", "pts/ptmx"}};
  char path[64], proc[64];
  for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
    snprintf(path, sizeof path, "/dev/%s", devices[i].name);
    struct stat st;
    if (stat(path, &st) < 0) return kerr_set(err, errno, "device %s on the host", path);
    if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(devices[i].major, devices[i].minor))
      return kerr_set(err, ENODEV, "device %s on the host is not c %u:%u", path, devices[i].major, devices[i].minor);
    _cleanup_close_ int target = open_or_make(rootfd, path, true, err);
    if (target < 0) return kerr_wrap(err, "devices");
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", target);
    if (mount(path, proc, NULL, MS_BIND, NULL) < 0) return kerr_set(err, errno, "bind %s into the rootfs", path);
    struct statvfs sv;
    /* a host /dev mounted nodev (kshim run inside a container) would disable the node */
    if (statvfs(path, &sv) == 0 && (sv.f_flag & ST_NODEV) &&
        remount_bind(rootfd, path, MS_NOSUID | MS_NOEXEC, 0, err) < 0)
      return kerr_wrap(err, "devices");
  }
  _cleanup_close_ int dirpath = open_or_make(rootfd, "/dev", false, err);
  if (dirpath < 0) return kerr_wrap(err, "devices");
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", dirpath);
  _cleanup_close_ int dev = open(proc, O_DIRECTORY | O_CLOEXEC);
  if (dev < 0) return kerr_set(err, errno, "open /dev in rootfs");
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
    if (symlinkat(links[i].target, dev, links[i].name) < 0 && errno != EEXIST)
      return kerr_set(err, errno, "symlink /dev/%s in rootfs", links[i].name);
  return 0;
}

static int pivot(const char *rootfs, struct kerr *err) {
  _cleanup_close_ int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (newroot < 0) return kerr_set(err, errno, "open rootfs %s", rootfs);
  if (fchdir(newroot) < 0) return kerr_set(err, errno, "chdir rootfs %s", rootfs);
  /* pivot_root(".", ".") stacks the old root on top of the new one; detach it right away */
  if (syscall(SYS_pivot_root, ".", ".") < 0) return kerr_set(err, errno, "pivot_root %s", rootfs);
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) return kerr_set(err, errno, "make old root rslave");
  if (umount2(".", MNT_DETACH) < 0) return kerr_set(err, errno, "detach old root");
  if (chdir("/") < 0) return kerr_set(err, errno, "chdir /");
  return 0;
}

static int mask_paths(const struct spec *s, struct kerr *err) {
  for (size_t i = 0; i < s->n_masked_paths; i++) {
    const char *p = s->masked_paths[i];
    struct stat st;
    if (stat(p, &st) < 0) {
      if (errno == ENOENT) continue;
      return kerr_set(err, errno, "linux.maskedPaths[%zu]: stat %s", i, p);
    }
    int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0k")
                                 : mount("/dev/null", p, NULL, MS_BIND, NULL);
    if (rc < 0) return kerr_set(err, errno, "linux.maskedPaths[%zu]: mask %s", i, p);
  }
  return 0;
}

static int readonly_paths(const struct spec *s, struct kerr *err) {
  for (size_t i = 0; i < s->n_readonly_paths; i++) {
    const char *p = s->readonly_paths[i];
    if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
      if (errno == ENOENT) continue;
      return kerr_set(err, errno, "linux.readonlyPaths[%zu]: bind %s", i, p);
    }
    _cleanup_close_ int fd = open(p, O_PATH | O_CLOEXEC);
    unsigned long flags = MS_RDONLY | (fd >= 0 ? mount_flags_of(fd) & KEEP_FLAGS : 0);
    if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
      return kerr_set(err, errno, "linux.readonlyPaths[%zu]: remount %s read-only", i, p);
  }
  return 0;
}

int mount_make_destinations(const struct spec *s, struct kerr *err) {
  _cleanup_close_ int rootfd = open(s->rootfs, O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (rootfd < 0) return kerr_set(err, errno, "open rootfs %s", s->rootfs);
  for (size_t i = 0; i < s->n_mounts; i++) {
    const struct mount_spec *m = &s->mounts[i];
    bool file = false;
    struct stat st;
    if (m->bind && stat(m->source, &st) < 0) return kerr_set(err, errno, "mounts[%zu].source %s", i, m->source);
    if (m->bind) file = !S_ISDIR(st.st_mode);
    _cleanup_close_ int fd = open_or_make(rootfd, m->destination, file, err);
    if (fd < 0) return kerr_wrap(err, "mounts[%zu].destination", i);
  }
  return 0;
}

int mount_setup_rootfs(const struct spec *s, const struct cgroup *cg, struct kerr *err) {
  unsigned long propagation = s->rootfs_propagation != 0 ? s->rootfs_propagation : MS_SLAVE | MS_REC;
  if (mount(NULL, "/", NULL, propagation, NULL) < 0) return kerr_set(err, errno, "set propagation of /");
  if (s->root_idmap != NULL) {
    /* the idmapped copy the monitor made takes the bind's place */
    if (syscall(SYS_move_mount, s->root_idmap->idmap_fd, "", AT_FDCWD, s->rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0)
      return kerr_set(err, errno, "attach the idmapped rootfs %s", s->rootfs);
  } else if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
    return kerr_set(err, errno, "bind rootfs %s", s->rootfs);
  }
  /* pivot_root needs the new root's mount to be private or slave */
  if (mount(NULL, s->rootfs, NULL, MS_PRIVATE, NULL) < 0)
    return kerr_set(err, errno, "make rootfs %s private", s->rootfs);
  {
    _cleanup_close_ int rootfd = open(s->rootfs, O_DIRECTORY | O_PATH | O_CLOEXEC);
    if (rootfd < 0) return kerr_set(err, errno, "open rootfs %s", s->rootfs);
    /* nodev: a node an image ships or a process makes (CAP_MKNOD) never opens */
    if (remount_bind(rootfd, "/", MS_NODEV, KEEP_FLAGS | MS_RDONLY, err) < 0) return kerr_wrap(err, "rootfs nodev");
    for (size_t i = 0; i < s->n_mounts; i++)
      if (mount_one(rootfd, &s->mounts[i], i, cg, err) < 0) return -1;
    if (make_devices(rootfd, err) < 0) return -1;
  }
  trace_point("init: pivot_root");
  if (pivot(s->rootfs, err) < 0) return -1;
  if (mask_paths(s, err) < 0 || readonly_paths(s, err) < 0) return -1;
  if (s->root_readonly) {
    _cleanup_close_ int root = open("/", O_PATH | O_CLOEXEC);
    unsigned long keep = root >= 0 ? mount_flags_of(root) & KEEP_FLAGS : MS_NODEV;
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL) < 0)
      return kerr_set(err, errno, "root.readonly: remount / read-only");
  }
  return 0;
}
