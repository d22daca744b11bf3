/* Joining namespaces by path or by the /proc/<pid>/ns links of a container's init. */
#define _GNU_SOURCE
#include "namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
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
               {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS}};
  int fds[6];
  /* open all first: after entering the mount namespace /proc is the container's */
  for (size_t i = 0; i < 6; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, order[i].name);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) {
      kerr_set(err, errno, "open %s", path);
      for (size_t j = 0; j < i; j++) close(fds[j]);
      return -1;
    }
  }
  int rc = 0;
  for (size_t i = 0; i < 6; i++) {
    if (rc == 0 && setns(fds[i], order[i].flag) < 0)
      rc = kerr_set(err, errno, "setns /proc/%d/ns/%s", (int)pid, order[i].name);
    close(fds[i]);
  }
  return rc;
}
