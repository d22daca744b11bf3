/* Container monitor (see monitor.h). */
#define _GNU_SOURCE
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cleanup.h"
#include "trace.h"
#include "init.h"
#include "mount.h"
#include "namespaces.h"
#include "state.h"

/* Longest record before a line is split into partial ("P") records, as in the CRI log format. */
#define LOG_LINE_MAX 16384

/* The CRI log and its rotation: before a record would take the file past max_size it is renamed
 * to <path>.1 (shifting .1 to .2 and so on, the oldest dropped) and a new file is started, as
 * kubelet's containerLogMaxSize/containerLogMaxFiles do. A reader that follows the file sees its
 * inode change and continues from the renamed file into the new one. */
struct log {
  const struct monitor_args *a;
  int fd;
  long long size;
};

static void log_rotate(struct log *l) {
  char from[PATH_MAX], to[PATH_MAX];
  for (int k = l->a->log_max_files - 1; k >= 1; k--) {
    if (k == 1)
      snprintf(from, sizeof from, "%s", l->a->log_path);
    else
      snprintf(from, sizeof from, "%s.%d", l->a->log_path, k - 1);
    snprintf(to, sizeof to, "%s.%d", l->a->log_path, k);
    if (rename(from, to) < 0 && errno != ENOENT) return;
  }
  int fd = open(l->a->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  /* without a new file keep appending to the renamed one: a log over its limit beats a lost one */
  if (fd < 0) return;
  close(l->fd);
  l->fd = fd;
  l->size = 0;
}

struct stream {
  const char *name;
  int fd;
  size_t len;
  char buf[LOG_LINE_MAX];
};

static void log_record(struct log *l, const char *stream, const char *tag, const char *data, size_t len) {
  char ts[64], head[96];
  state_rfc3339_now(ts, sizeof ts);
  int n = snprintf(head, sizeof head, "%s %s %s ", ts, stream, tag);
  long long record = n + (long long)len + 1;
  if (l->size > 0 && l->size + record > l->a->log_max_size) log_rotate(l);
  struct iovec iov[3] = {{head, (size_t)n}, {(void *)data, len}, {"\n", 1}};
  /* one writev per record keeps records whole when the agent reads the file concurrently */
  ssize_t w = writev(l->fd, iov, 3);
  if (w > 0) l->size += w;
}

/* Reads what is available; returns false at EOF. Complete lines become "F" records. */
static bool pump(struct stream *s, struct log *log) {
  ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) {
    if (s->len > 0) log_record(log, s->name, "F", s->buf, s->len);
    s->len = 0;
    return false;
  }
  s->len += (size_t)n;
  size_t start = 0;
  for (size_t i = 0; i < s->len; i++)
    if (s->buf[i] == '\n') {
      log_record(log, s->name, "F", s->buf + start, i - start);
      start = i + 1;
    }
  if (start == 0 && s->len == sizeof s->buf) {
    log_record(log, s->name, "P", s->buf, s->len);
    start = s->len;
  }
  memmove(s->buf, s->buf + start, s->len - start);
  s->len -= start;
  return true;
}

static void report(int fd, const struct monitor_report *r) {
  if (write(fd, r, sizeof *r) < 0) return;
}

static __attribute__((noreturn)) void fail(const struct monitor_args *a, struct kerr *err) {
  struct monitor_report r = {.ok = 0, .err = *err};
  report(a->report_fd, &r);
  _exit(1);
}

static void kill_and_reap(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
}

static int write_shim_json(const struct monitor_args *a, pid_t pid, struct kerr *err) {
  char created[64];
  state_rfc3339_now(created, sizeof created);
  _cleanup_json_ json_t *dirs = json_array();
  for (size_t i = 0; i < a->cgroup->n; i++) json_array_append_new(dirs, json_string(a->cgroup->dirs[i]));
  json_t *annotations = a->spec->annotations != NULL ? json_deep_copy(a->spec->annotations) : json_object();
  _cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:i, s:O, s:o}",
                                       "ociVersion", "1.0.2", "id", a->id, "bundle", a->spec->bundle, "pid",
                                       (json_int_t)pid, "pidStartTime", (json_int_t)state_proc_start_time(pid),
                                       "monitorPid", (json_int_t)getpid(), "monitorStartTime",
                                       (json_int_t)state_proc_start_time(getpid()), "created", created, "logPath", a->log_path,
                                       "cgroupVersion", a->cgroup->ops->version, "cgroupDirs", dirs,
                                       "annotations", annotations);
  if (j == NULL) return kerr_set(err, ENOMEM, "build shim.json");
  return state_write_json(a->state_dir, "shim.json", j, err);
}

static void write_exit_json(const struct monitor_args *a, int status) {
  struct kerr err;
  bool oom = false;
  if (a->cgroup->ops->oom_killed(a->cgroup, &oom, &err) < 0) oom = false;
  char finished[64];
  state_rfc3339_now(finished, sizeof finished);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  _cleanup_json_ json_t *j =
      json_pack("{s:i, s:i, s:b, s:s}", "exitCode", code, "signal", sig, "oomKilled", oom, "finishedAt", finished);
  if (j != NULL) state_write_json(a->state_dir, "exit.json", j, &err);
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* struct clone_args of linux/sched.h (v2, with the cgroup field), spelled out so that the uapi
 * header's CLONE_* macros do not collide with glibc's */
struct clone3_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* A fork-like clone of the init with the new namespaces (the cgroup namespace comes later, once
 * the init is inside its cgroup, so that the cgroup is the root it sees). On v2 clone3 puts the
 * child straight into its cgroup (*in_cgroup); elsewhere, or on kernels without it, the init
 * moves itself. */
static pid_t clone_init(const struct monitor_args *a, bool *in_cgroup) {
  uint64_t flags = (uint64_t)(a->spec->clone_flags & ~CLONE_NEWCGROUP);
  *in_cgroup = false;
  if (a->cgroup->ops->version == 2) {
    int dir = open(a->cgroup->dirs[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      struct clone3_args args = {.flags = flags | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)dir};
      *in_cgroup = true;
      pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
      int e = errno;
      close(dir);
      if (pid >= 0) return pid;
      *in_cgroup = false;
      errno = e;
    }
  }
  return (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
}

static void child(const struct monitor_args *a, bool in_cgroup, int sync_fd, int in, int out, int errfd) {
  struct kerr err = {0};
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  if (in < 0) in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0) {
    kerr_set(&err, errno, "set up stdio of the container init");
  } else {
    /* a user namespace's root cannot write the host's cgroup files: the monitor moves it */
    bool moves_itself = !in_cgroup && !(a->spec->clone_flags & CLONE_NEWUSER);
    init_container(a->spec, a->cgroup, moves_itself, a->state_dir, sync_fd, &err);
  }
  struct init_msg msg = {.type = INIT_ERROR, .err = err};
  if (send(sync_fd, &msg, sizeof msg, MSG_NOSIGNAL) < 0) _exit(2);
  _exit(1);
}

/* The parent's half of a new user namespace: the id maps, the cgroup move the init cannot do
 * itself, the idmapped mount trees only the host's root can make, then the go-ahead the init
 * waits for, carrying the trees. */
static int release_into_userns(const struct monitor_args *a, pid_t pid, bool in_cgroup, int sync_fd,
                               struct kerr *err) {
  if (ns_write_id_maps(a->spec, pid, err) < 0) return -1;
  if (a->spec->root_idmap == NULL && mount_make_destinations(a->spec, err) < 0) return -1;
  if (!in_cgroup && a->cgroup->ops->enter(a->cgroup, pid, err) < 0) return kerr_wrap(err, "move the init into its cgroup");
  int fds[NS_MAX_PASSED_FDS];
  size_t n = 0;
  int rc = 0;
  _cleanup_close_ int userns = -1;
  /* the rootfs tree first (when idmapped), then the mounts' in their order: the init takes them so */
  for (size_t i = 0; i <= a->spec->n_mounts && rc == 0; i++) {
    const struct mount_spec *m = i == 0 ? a->spec->root_idmap : &a->spec->mounts[i - 1];
    if (m == NULL || !m->idmap) continue;
    char field[32];
    if (i == 0) snprintf(field, sizeof field, "root.path");
    else snprintf(field, sizeof field, "mounts[%zu]", i - 1);
    if (n == NS_MAX_PASSED_FDS) {
      rc = kerr_set(err, E2BIG, "%s: more than %d idmapped mounts", field, NS_MAX_PASSED_FDS);
      break;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
    if (userns < 0 && (userns = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
      rc = kerr_set(err, errno, "open %s", path);
      break;
    }
    int fd = mount_idmapped_tree(m, field, userns, err);
    if (fd < 0) rc = -1;
    else fds[n++] = fd;
  }
  if (rc == 0) rc = ns_release_userns_child(sync_fd, fds, n, err);
  for (size_t i = 0; i < n; i++) close(fds[i]);
  return rc;
}

void monitor_main(const struct monitor_args *a) {
  struct kerr err = {0};
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  struct log log = {.a = a, .fd = open(a->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)};
  struct stat log_st;
  if (log.fd < 0 || fstat(log.fd, &log_st) < 0)
    fail(a, (kerr_set(&err, errno, "open container log %s", a->log_path), &err));
  log.size = log_st.st_size;
  int out[2], errp[2], sync[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
      socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0)
    fail(a, (kerr_set(&err, errno, "create pipes for the container"), &err));
  struct attach at = {.listen_fd = -1, .client_fd = -1, .pipe_fd = -1};
  int in = -1;
  if (a->stdin_mode != MONITOR_STDIN_NONE &&
      attach_open(&at, a->state_dir, a->stdin_mode == MONITOR_STDIN_ONCE, &in, &err) < 0)
    fail(a, &err);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) fail(a, (kerr_set(&err, errno, "signalfd"), &err));
  if (ns_join_pid_path(a->spec, &err) < 0) fail(a, &err);
  /* Namespaces given by path belong to the host's user namespace, which the init cannot join from
   * a new one: it inherits them from here instead. */
  if ((a->spec->clone_flags & CLONE_NEWUSER) && ns_join_paths(a->spec, &err) < 0) fail(a, &err);

  trace_point("monitor: clone");
  bool in_cgroup;
  pid_t pid = clone_init(a, &in_cgroup);
  if (pid < 0) fail(a, (kerr_set(&err, errno, "clone the container init (namespaces 0x%x)", a->spec->clone_flags), &err));
  if (pid == 0) {
    close(sync[0]);
    child(a, in_cgroup, sync[1], in, out[1], errp[1]);
  }
  if (in >= 0) close(in);
  close(sync[1]);
  close(out[1]);
  close(errp[1]);
  if ((a->spec->clone_flags & CLONE_NEWUSER) && release_into_userns(a, pid, in_cgroup, sync[0], &err) < 0) {
    kill_and_reap(pid);
    fail(a, &err);
  }
  struct init_msg msg = {0};
  ssize_t n = recv(sync[0], &msg, sizeof msg, 0);
  if (n != (ssize_t)sizeof msg || msg.type != INIT_READY) {
    if (n == (ssize_t)sizeof msg && msg.type == INIT_ERROR)
      err = msg.err;
    else
      kerr_set(&err, n < 0 ? errno : 0, "the container init exited during setup");
    kill_and_reap(pid);
    fail(a, &err);
  }
  trace_point("monitor: init ready");
  close(sync[0]);
  if (write_shim_json(a, pid, &err) < 0) {
    kill_and_reap(pid);
    fail(a, &err);
  }
  struct monitor_report ok = {.ok = 1, .pid = pid};
  report(a->report_fd, &ok);
  close(a->report_fd);

  static struct stream streams[2];
  streams[0] = (struct stream){.name = "stdout", .fd = out[0]};
  streams[1] = (struct stream){.name = "stderr", .fd = errp[0]};
  bool open_streams[2] = {true, true};
  bool reaped = false;
  int status = 0;
  struct timespec deadline = {0};
  for (;;) {
    struct pollfd pfd[6] = {{.fd = sigfd, .events = POLLIN},
                            {.fd = open_streams[0] ? out[0] : -1, .events = POLLIN},
                            {.fd = open_streams[1] ? errp[0] : -1, .events = POLLIN}};
    attach_poll_fds(&at, &pfd[3]);
    int timeout = -1;
    if (reaped) {
      /* processes outside the init's pid namespace may hold the pipes; stop waiting after 2 s */
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long ms = (deadline.tv_sec - now.tv_sec) * 1000 + (deadline.tv_nsec - now.tv_nsec) / 1000000;
      if (ms <= 0 || (!open_streams[0] && !open_streams[1])) break;
      timeout = (int)ms;
    }
    if (poll(pfd, 6, timeout) < 0 && errno != EINTR) break;
    attach_handle(&at, &pfd[3]);
    for (int i = 0; i < 2; i++)
      if (open_streams[i] && (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
        open_streams[i] = pump(&streams[i], &log);
    if (pfd[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof si) == sizeof si) {
      }
      int st;
      pid_t r;
      while ((r = waitpid(-1, &st, WNOHANG)) > 0)
        if (r == pid) {
          status = st;
          reaped = true;
          clock_gettime(CLOCK_MONOTONIC, &deadline);
          deadline.tv_sec += 2;
        }
    }
  }
  for (int i = 0; i < 2; i++)
    if (streams[i].len > 0) log_record(&log, streams[i].name, "F", streams[i].buf, streams[i].len);
  trace_point("monitor: reaped");
  write_exit_json(a, status);
  _exit(0);
}
