/* Container init (see init.h). */
#define _GNU_SOURCE
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "trace.h"
#include "mount.h"
#include "namespaces.h"
#include "process.h"
#include "seccomp.h"

int init_container(const struct spec *s, const struct cgroup *cg, bool enter_cgroup, const char *state_dir, int sync_fd,
                   struct kerr *err) {
  trace_point("init: started");
  bool userns = (s->clone_flags & CLONE_NEWUSER) != 0;
  char fifo_path[PATH_MAX];
  snprintf(fifo_path, sizeof fifo_path, "%s/exec.fifo", state_dir);
  /* opened while still the host's root: the state dir (0700) is out of reach of a user namespace's */
  _cleanup_close_ int fifo = open(fifo_path, O_PATH | O_CLOEXEC);
  if (fifo < 0) return kerr_set(err, errno, "open %s", fifo_path);
  if (userns) {
    int fds[NS_MAX_PASSED_FDS];
    size_t n;
    if (ns_become_userns_root(sync_fd, fds, NS_MAX_PASSED_FDS, &n, err) < 0) return -1;
    /* the trees come in the order of their mounts; this is the init's own copy of the spec */
    size_t k = 0;
    if (s->root_idmap != NULL) s->root_idmap->idmap_fd = k < n ? fds[k++] : -1;
    for (size_t i = 0; i < s->n_mounts; i++)
      if (s->mounts[i].idmap) s->mounts[i].idmap_fd = k < n ? fds[k++] : -1;
  }
  if (enter_cgroup && cg->ops->enter(cg, 0, err) < 0) return kerr_wrap(err, "move the init into its cgroup");
  trace_point("init: in cgroup");
  /* Every container gets a cgroup namespace, listed in linux.namespaces or not (containerd and
   * Docker do so on cgroup v2): its cgroup is "/" to it, and a `cgroup` mount shows that cgroup
   * only, never the host's hierarchy. */
  if (unshare(CLONE_NEWCGROUP) < 0) return kerr_set(err, errno, "unshare cgroup namespace");
  if (setsid() < 0) return kerr_set(err, errno, "setsid");
  /* with a user namespace the monitor joined them before the clone (see monitor.c) */
  if (!userns && ns_join_paths(s, err) < 0) return -1;
  trace_point("init: mounting");
  if (mount_setup_rootfs(s, cg, err) < 0) return -1;
  if (s->hostname != NULL && sethostname(s->hostname, strlen(s->hostname)) < 0)
    return kerr_set(err, errno, "hostname: sethostname \"%s\"", s->hostname);
  if (s->domainname != NULL && setdomainname(s->domainname, strlen(s->domainname)) < 0)
    return kerr_set(err, errno, "domainname: setdomainname \"%s\"", s->domainname);
  char **env = process_environment(s->process.env, NULL, s->process.uid);
  if (env == NULL) return kerr_set(err, ENOMEM, "process.env");
  /* Without no_new_privs loading a filter needs CAP_SYS_ADMIN, which only lasts until the identity
   * is applied; with it the filter goes on as late as possible, so that it constrains the
   * runtime's own steps as little as it can (runc's order) */
  if (s->seccomp != NULL && !s->process.no_new_privileges && seccomp_filter_load(s->seccomp, err) < 0) return -1;
  if (process_apply(&s->process, s->process.cwd, err) < 0) return -1;
  char exe[PATH_MAX];
  if (process_find_executable(s->process.args[0], (const char *const *)env, exe, sizeof exe, err) < 0) return -1;
  /* the fifo is reopened through /proc after pivot_root, so the container must mount proc */
  char reopen[64];
  snprintf(reopen, sizeof reopen, "/proc/self/fd/%d", fifo);
  if (access(reopen, F_OK) < 0)
    return kerr_set(err, errno, "%s: the container needs a proc mount at /proc to wait for start", reopen);
  struct init_msg ready = {.type = INIT_READY};
  if (send(sync_fd, &ready, sizeof ready, MSG_NOSIGNAL) < 0) return kerr_set(err, errno, "report readiness");

  int w = open(reopen, O_WRONLY | O_CLOEXEC);
  if (w < 0 || write(w, "0", 1) != 1) {
    fprintf(stderr, "kshim init: open exec.fifo: %s\n", strerror(errno));
    _exit(127);
  }
  close(w);
  struct kerr late = {0};
  if (s->seccomp != NULL && s->process.no_new_privileges && seccomp_filter_load(s->seccomp, &late) < 0) {
    char msg[sizeof late.msg + 64];
    kerr_format(&late, msg, sizeof msg);
    fprintf(stderr, "kshim init: %s\n", msg);
    _exit(127);
  }
  execve(exe, (char *const *)s->process.args, env);
  fprintf(stderr, "kshim init: exec %s: %s\n", exe, strerror(errno));
  _exit(127);
}
