/* Joining namespaces by path or by the /proc/<pid>/ns links of a container's init. */
#define _GNU_SOURCE
#include "namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"

static int join(const char *path, int flag, struct kerr *err) {
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return kerr_set(err, errno, "open namespace %s", path);
  if (setns(fd, flag) < 0) return kerr_set(err, errno, "setns %s", path);
  return 0;
}

int ns_join_paths(const struct spec *s, struct kerr *err) {
  for (size_t i = 0; i < s->n_namespaces; i++) {
    const struct namespace_spec *ns = &s->namespaces[i];
    if (ns->path == NULL || ns->flag == CLONE_NEWPID) continue;
    if (join(ns->path, ns->flag, err) < 0) return kerr_wrap(err, "linux.namespaces[%zu].path", i);
  }
  return 0;
}

int ns_join_pid_path(const struct spec *s, struct kerr *err) {
  const struct namespace_spec *ns = spec_namespace(s, CLONE_NEWPID);
  if (ns == NULL || ns->path == NULL) return 0;
  return join(ns->path, CLONE_NEWPID, err) < 0 ? kerr_wrap(err, "pid namespace path") : 0;
}

int ns_enter_process(pid_t pid, struct kerr *err) {
  static const struct {
    const char *name;
    int flag;
  } order[] = {{"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},       {"net", CLONE_NEWNET},
               {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS},
               {"user", CLONE_NEWUSER}};
  enum { N = sizeof order / sizeof order[0] };
  int fds[N];
  /* open all first: after entering the mount namespace /proc is the container's */
  for (size_t i = 0; i < N; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, order[i].name);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) {
      kerr_set(err, errno, "open %s", path);
      for (size_t j = 0; j < i; j++) close(fds[j]);
      return -1;
    }
  }
  /* setns into the user namespace one is already in is EINVAL */
  struct stat mine, theirs;
  bool own_userns = stat("/proc/self/ns/user", &mine) == 0 && fstat(fds[N - 1], &theirs) == 0 &&
                    (mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev);
  int rc = 0;
  for (size_t i = 0; i < N; i++) {
    bool skip = order[i].flag == CLONE_NEWUSER && !own_userns;
    if (rc == 0 && !skip && setns(fds[i], order[i].flag) < 0)
      rc = kerr_set(err, errno, "setns /proc/%d/ns/%s", (int)pid, order[i].name);
    close(fds[i]);
  }
  return rc;
}

static int write_map(pid_t pid, const char *file, const struct id_mapping *m, size_t n, const char *field,
                     struct kerr *err) {
  char buf[340 * 36], path[64];
  size_t len = 0;
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size);
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  /* the kernel takes the whole map in one write, or refuses it (overlaps, ranges too large) */
  if (fd < 0 || write(fd, buf, len) != (ssize_t)len) return kerr_set(err, errno, "%s: write %s", field, path);
  return 0;
}

int ns_write_id_maps(const struct spec *s, pid_t pid, struct kerr *err) {
  if (write_map(pid, "uid_map", s->uid_mappings, s->n_uid_mappings, "linux.uidMappings", err) < 0) return -1;
  return write_map(pid, "gid_map", s->gid_mappings, s->n_gid_mappings, "linux.gidMappings", err);
}

int ns_release_userns_child(int sync_fd, const int *fds, size_t n, struct kerr *err) {
  char go = '1';
  struct iovec iov = {.iov_base = &go, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int) * NS_MAX_PASSED_FDS)];
    struct cmsghdr align;
  } control;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (n > NS_MAX_PASSED_FDS) return kerr_set(err, E2BIG, "user namespace: more than %d idmapped mounts", NS_MAX_PASSED_FDS);
  if (n > 0) {
    memset(&control, 0, sizeof control);
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  }
  if (sendmsg(sync_fd, &msg, MSG_NOSIGNAL) != 1) return kerr_set(err, errno, "release the init into its user namespace");
  return 0;
}

int ns_become_userns_root(int sync_fd, int *fds, size_t max, size_t *n, struct kerr *err) {
  char go;
  struct iovec iov = {.iov_base = &go, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int) * NS_MAX_PASSED_FDS)];
    struct cmsghdr align;
  } control;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
  *n = 0;
  ssize_t got = recvmsg(sync_fd, &msg, MSG_CMSG_CLOEXEC);
  if (got != 1) return kerr_set(err, got < 0 ? errno : EPIPE, "user namespace: wait for the id maps");
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count && *n < max; i++) memcpy(&fds[(*n)++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  if (setresgid(0, 0, 0) < 0) return kerr_set(err, errno, "linux.gidMappings: become gid 0 (is container id 0 mapped?)");
  if (setresuid(0, 0, 0) < 0) return kerr_set(err, errno, "linux.uidMappings: become uid 0 (is container id 0 mapped?)");
  if (setgroups(0, NULL) < 0) return kerr_set(err, errno, "user namespace: drop supplementary groups");
  return 0;
}
