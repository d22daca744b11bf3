/* Runtime commands (see container.h): the CLI side of create (fork the detached monitor, wait for
 * its report, roll back on failure), start through exec.fifo, and the commands that act on the
 * state dir. Signals go through pidfds checked against the recorded start time, so a reused pid
 * is never signalled. */
#define _GNU_SOURCE
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "console.h"
#include "trace.h"
#include "monitor.h"
#include "namespaces.h"
#include "process.h"
#include "seccomp.h"
#include "spec.h"
#include "state.h"

#define LOG_PATH_ANNOTATION "io.kctl.shim.log-path"
#define LOG_MAX_SIZE_ANNOTATION "io.kctl.log.max-size"
#define LOG_MAX_FILES_ANNOTATION "io.kctl.log.max-files"
#define STDIN_ANNOTATION "io.kctl.shim.stdin"

/* An annotation holding a count or a size: digits, optionally followed (sizes) by a binary suffix
 * Ki, Mi or Gi as in kubelet's containerLogMaxSize. Absent: *out is left as it is. */
static int annotation_number(const struct spec *s, const char *key, bool size, long long min, long long max,
                             long long *out, struct kerr *err) {
  json_t *v = s->annotations != NULL ? json_object_get(s->annotations, key) : NULL;
  if (v == NULL) return 0;
  const char *text = json_string_value(v);
  char *end = NULL;
  errno = 0;
  long long n = text != NULL ? strtoll(text, &end, 10) : -1;
  long long unit = 1;
  if (size && end != NULL && *end != '\0') {
    unit = strcmp(end, "Ki") == 0 ? 1LL << 10 : strcmp(end, "Mi") == 0 ? 1LL << 20 : strcmp(end, "Gi") == 0 ? 1LL << 30 : 0;
    end += unit != 0 ? 2 : 0;
  }
  if (text == NULL || end == text || *end != '\0' || errno != 0 || unit == 0 || n < 0 || n > max / unit || n * unit < min)
    return kerr_set(err, 0, "config.json: annotations[\"%s\"]: \"%s\" is not %s in [%lld, %lld]", key,
                    text != NULL ? text : "(not a string)", size ? "a size (bytes, or with Ki, Mi, Gi)" : "a count", min,
                    max);
  *out = n * unit;
  return 0;
}

static int mkdir_p(const char *path, mode_t mode, struct kerr *err) {
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p != '\0'; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0711) < 0 && errno != EEXIST) return kerr_set(err, errno, "mkdir %s", buf);
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST) return kerr_set(err, errno, "mkdir %s", buf);
  return 0;
}

/* A pidfd for the container init, or -1 with err when it is gone or the pid was reused. */
static int open_init(const struct state *st, struct kerr *err) {
  int fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
  if (fd < 0) return kerr_set(err, errno, "container \"%s\": init pid %d is gone", st->id, (int)st->pid);
  if (state_proc_start_time(st->pid) != st->start_time) {
    close(fd);
    return kerr_set(err, ESRCH, "container \"%s\": init pid %d has exited", st->id, (int)st->pid);
  }
  return fd;
}

static bool wait_pidfd(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, timeout_ms) == 1;
}

static int write_pid_file(const char *path, pid_t pid, struct kerr *err) {
  char tmp[PATH_MAX], v[16];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int n = snprintf(v, sizeof v, "%d", (int)pid);
  _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, v, (size_t)n) != n) return kerr_set(err, errno, "--pid-file %s", tmp);
  if (rename(tmp, path) < 0) return kerr_set(err, errno, "--pid-file: rename to %s", path);
  return 0;
}

/* The child side of create: leave the caller's session and become the monitor. It is not waited
 * for: when this CLI exits it is re-parented to init (or the caller's subreaper), so it outlives
 * the caller, and one fork is cheaper than the classic double fork. */
static __attribute__((noreturn)) void spawn_monitor(const struct monitor_args *a) {
  if (setsid() < 0) _exit(1);
  int devnull = open("/dev/null", O_RDWR);
  if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0) _exit(1);
  /* the caller's pipes must not stay open in a process that outlives it */
  if (a->report_fd > 3) syscall(SYS_close_range, 3, a->report_fd - 1, 0);
  syscall(SYS_close_range, a->report_fd + 1, ~0U, 0);
  monitor_main(a);
}

/* Before any clone: a bad profile is an error of the command, and the init only loads the program. */
static int compile_seccomp(const struct global_opts *g, struct spec *s, struct kerr *err) {
  if (s->seccomp == NULL) return 0;
  char cache[PATH_MAX];
  snprintf(cache, sizeof cache, "%s/.seccomp-cache", g->root);
  if (mkdir_p(g->root, 0711, err) < 0) return -1;
  return seccomp_filter_compile(s->seccomp, cache, err);
}

int container_create(const struct global_opts *g, const char *id, const char *bundle, const char *pid_file,
                     struct kerr *err) {
  _cleanup_spec_ struct spec *s = NULL;
  char dir[PATH_MAX], fifo[PATH_MAX], log_path[PATH_MAX];
  if (state_dir_path(g->root, id, dir, sizeof dir, err) < 0) return -1;
  trace_point("create: start");
  if (spec_load(bundle, &s, err) < 0) return -1;
  if (compile_seccomp(g, s, err) < 0) return kerr_wrap(err, "bundle %s", s->bundle);
  trace_point("create: spec loaded");
  json_t *annotated = s->annotations != NULL ? json_object_get(s->annotations, LOG_PATH_ANNOTATION) : NULL;
  if (annotated != NULL) {
    const char *p = json_string_value(annotated);
    if (p == NULL || p[0] != '/')
      return kerr_set(err, 0, "config.json: annotations[\"" LOG_PATH_ANNOTATION "\"]: must be an absolute path");
    snprintf(log_path, sizeof log_path, "%s", p);
  } else {
    snprintf(log_path, sizeof log_path, "%s/container.log", dir);
  }
  /* kubelet's defaults for containerLogMaxSize and containerLogMaxFiles */
  long long log_max_size = 10LL << 20, log_max_files = 5;
  if (annotation_number(s, LOG_MAX_SIZE_ANNOTATION, true, 4096, 1LL << 40, &log_max_size, err) < 0 ||
      annotation_number(s, LOG_MAX_FILES_ANNOTATION, false, 2, 1000, &log_max_files, err) < 0)
    return kerr_wrap(err, "create \"%s\"", id);
  json_t *stdin_value = s->annotations != NULL ? json_object_get(s->annotations, STDIN_ANNOTATION) : NULL;
  const char *stdin_mode = stdin_value != NULL ? json_string_value(stdin_value) : "";
  if (stdin_mode == NULL ||
      (strcmp(stdin_mode, "") != 0 && strcmp(stdin_mode, "open") != 0 && strcmp(stdin_mode, "once") != 0))
    return kerr_set(err, 0, "config.json: annotations[\"" STDIN_ANNOTATION "\"]: must be \"open\" or \"once\"");
  struct cgroup cg;
  if (cgroup_resolve(s->cgroups_path, id, g->allow_root_cgroup, &cg, err) < 0) return -1;
  if (mkdir_p(g->root, 0711, err) < 0) goto release;
  if (mkdir(dir, 0700) < 0) {
    if (errno == EEXIST) kerr_set(err, EEXIST, "container \"%s\" already exists (%s)", id, dir);
    else kerr_set(err, errno, "mkdir state dir %s", dir);
    goto release;
  }
  snprintf(fifo, sizeof fifo, "%s/exec.fifo", dir);
  /* 0622: the init may have dropped to any uid when it opens the fifo for writing */
  if (mkfifo(fifo, 0622) < 0 || chmod(fifo, 0622) < 0) {
    kerr_set(err, errno, "mkfifo %s", fifo);
    goto remove_dir;
  }
  if (cg.ops->create(&cg, &s->resources, err) < 0) goto remove_dir;
  trace_point("create: cgroup made");

  int rp[2];
  if (pipe2(rp, O_CLOEXEC) < 0) {
    kerr_set(err, errno, "pipe");
    goto remove_cgroup;
  }
  struct monitor_args args = {
      .spec = s,
      .cgroup = &cg,
      .id = id,
      .state_dir = dir,
      .log_path = log_path,
      .log_max_size = log_max_size,
      .log_max_files = (int)log_max_files,
      .report_fd = rp[1],
      .stdin_mode = strcmp(stdin_mode, "open") == 0   ? MONITOR_STDIN_OPEN
                    : strcmp(stdin_mode, "once") == 0 ? MONITOR_STDIN_ONCE
                                                      : MONITOR_STDIN_NONE};
  pid_t p = fork();
  if (p < 0) {
    kerr_set(err, errno, "fork the monitor");
    close(rp[0]);
    close(rp[1]);
    goto remove_cgroup;
  }
  if (p == 0) {
    close(rp[0]);
    spawn_monitor(&args);
  }
  close(rp[1]);
  struct monitor_report r = {0};
  ssize_t n = read(rp[0], &r, sizeof r);
  close(rp[0]);
  if (n != (ssize_t)sizeof r || !r.ok) {
    /* the monitor has reaped the init and exits; wait so that the cgroup is empty */
    while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  if (n != (ssize_t)sizeof r) {
    kerr_set(err, n < 0 ? errno : 0, "the monitor exited before reporting");
    goto remove_cgroup;
  }
  if (!r.ok) {
    *err = r.err;
    goto remove_cgroup;
  }
  trace_point("create: monitor reported");
  if (pid_file != NULL && write_pid_file(pid_file, r.pid, err) < 0) {
    struct kerr ignored;
    container_delete(g, id, true, &ignored);
    cgroup_release(&cg);
    return -1;
  }
  cgroup_release(&cg);
  return 0;

remove_cgroup: {
  struct kerr ignored;
  cgroup_destroy(&cg, true, &ignored);
}
remove_dir: {
  struct kerr ignored;
  state_remove_dir(dir, &ignored);
}
release:
  cgroup_release(&cg);
  return kerr_wrap(err, "create \"%s\"", id);
}

int container_start(const struct global_opts *g, const char *id, struct kerr *err) {
  _cleanup_state_ struct state *st = NULL;
  if (state_load(g->root, id, &st, err) < 0) return -1;
  const char *status = state_status(st);
  if (strcmp(status, "created") != 0) return kerr_set(err, 0, "start \"%s\": container is %s, not created", id, status);
  /* the pidfd first: once the fifo has a reader the init may exec, finish and be reaped at once */
  _cleanup_close_ int pidfd = open_init(st, err);
  if (pidfd < 0) return kerr_wrap(err, "start");
  char fifo[PATH_MAX];
  snprintf(fifo, sizeof fifo, "%s/exec.fifo", st->dir);
  _cleanup_close_ int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return kerr_set(err, errno, "start \"%s\": open %s", id, fifo);
  for (;;) {
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return kerr_set(err, errno, "start \"%s\": poll", id);
    }
    if (p[0].revents & POLLIN) break;
    if (p[1].revents & POLLIN) return kerr_set(err, 0, "start \"%s\": the init exited before start", id);
  }
  char c;
  if (read(fd, &c, 1) != 1) return kerr_set(err, errno, "start \"%s\": read %s", id, fifo);
  if (unlink(fifo) < 0) return kerr_set(err, errno, "start \"%s\": remove %s", id, fifo);
  return 0;
}

int container_state(const struct global_opts *g, const char *id, json_t **out, struct kerr *err) {
  _cleanup_state_ struct state *st = NULL;
  if (state_load(g->root, id, &st, err) < 0) return -1;
  const char *status = state_status(st);
  bool stopped = strcmp(status, "stopped") == 0;
  json_t *j = json_pack("{s:O?, s:s, s:s, s:I, s:s, s:O?, s:O?, s:s}", "ociVersion",
                        json_object_get(st->json, "ociVersion"), "id", st->id, "status", status, "pid",
                        (json_int_t)(stopped ? 0 : st->pid), "bundle", st->bundle, "created",
                        json_object_get(st->json, "created"), "annotations", json_object_get(st->json, "annotations"),
                        "logPath", st->log_path);
  if (j == NULL) return kerr_set(err, ENOMEM, "state \"%s\"", id);
  json_t *exit = stopped ? state_exit(st) : NULL;
  if (exit != NULL) json_object_update(j, exit);
  if (exit != NULL) json_decref(exit);
  *out = j;
  return 0;
}

int container_kill(const struct global_opts *g, const char *id, int sig, struct kerr *err) {
  _cleanup_state_ struct state *st = NULL;
  if (state_load(g->root, id, &st, err) < 0) return -1;
  if (strcmp(state_status(st), "stopped") == 0) return kerr_set(err, 0, "kill \"%s\": container is stopped", id);
  _cleanup_close_ int pidfd = open_init(st, err);
  if (pidfd < 0) return kerr_wrap(err, "kill");
  if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
    return kerr_set(err, errno, "kill \"%s\": signal %d to pid %d", id, sig, (int)st->pid);
  return 0;
}

/* SIGKILLs what is left in the cgroup (processes outside the init's pid namespace, from exec). */
static void kill_cgroup(const struct cgroup *cg) {
  char path[PATH_MAX];
  if (cg->n == 0) return;
  snprintf(path, sizeof path, "%s/cgroup.procs", cg->dirs[0]);
  _cleanup_file_ FILE *f = fopen(path, "re");
  int pid;
  while (f != NULL && fscanf(f, "%d", &pid) == 1) kill(pid, SIGKILL);
}

int container_delete(const struct global_opts *g, const char *id, bool force, struct kerr *err) {
  _cleanup_state_ struct state *st = NULL;
  if (state_load(g->root, id, &st, err) < 0) {
    char dir[PATH_MAX];
    struct stat st_dir;
    /* a create interrupted before shim.json leaves only the directory (its error is ENOENT too) */
    if (force && state_dir_path(g->root, id, dir, sizeof dir, err) == 0 && stat(dir, &st_dir) == 0) {
      *err = (struct kerr){0};
      return state_remove_dir(dir, err);
    }
    return kerr_wrap(err, "delete");
  }
  const char *status = state_status(st);
  if (strcmp(status, "running") == 0 && !force)
    return kerr_set(err, 0, "delete \"%s\": container is running (kill it first or use --force)", id);
  struct cgroup cg;
  if (cgroup_from_dirs(st->cgroup_version, st->cgroup_dirs, st->n_cgroup_dirs, &cg, err) < 0)
    return kerr_wrap(err, "delete \"%s\"", id);
  if (strcmp(status, "stopped") != 0) {
    struct kerr ignored;
    int pidfd = open_init(st, &ignored);
    if (pidfd >= 0) {
      syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
      wait_pidfd(pidfd, 10000);
      close(pidfd);
    }
  }
  kill_cgroup(&cg);
  /* the monitor writes exit.json into the state dir; let it finish before removing the dir */
  if (st->monitor_pid > 0) {
    int mfd = (int)syscall(SYS_pidfd_open, st->monitor_pid, 0);
    if (mfd >= 0) {
      char exit_path[PATH_MAX];
      snprintf(exit_path, sizeof exit_path, "%s/exit.json", st->dir);
      if (access(exit_path, F_OK) < 0) wait_pidfd(mfd, 5000);
      close(mfd);
    }
  }
  int rc = cgroup_destroy(&cg, false, err);
  cgroup_release(&cg);
  if (rc < 0) return kerr_wrap(err, "delete \"%s\"", id);
  if (state_remove_dir(st->dir, err) < 0) return kerr_wrap(err, "delete \"%s\"", id);
  return 0;
}

int container_run(const struct global_opts *g, const char *id, const char *bundle, const char *pid_file,
                  bool detach, int *exit_code, struct kerr *err) {
  *exit_code = 0;
  if (container_create(g, id, bundle, pid_file, err) < 0) return -1;
  if (detach) {
    if (container_start(g, id, err) == 0) return 0;
    struct kerr ignored;
    container_delete(g, id, true, &ignored);
    return -1;
  }
  _cleanup_state_ struct state *st = NULL;
  if (state_load(g->root, id, &st, err) < 0) return -1;
  _cleanup_close_ int mfd = (int)syscall(SYS_pidfd_open, st->monitor_pid, 0);
  if (container_start(g, id, err) < 0) {
    struct kerr ignored;
    container_delete(g, id, true, &ignored);
    return -1;
  }
  if (mfd >= 0) wait_pidfd(mfd, -1);
  json_t *exit = state_exit(st);
  json_int_t code = 255;
  if (exit == NULL || json_unpack(exit, "{s:I}", "exitCode", &code) < 0) code = 255;
  if (exit != NULL) json_decref(exit);
  *exit_code = (int)code;
  return container_delete(g, id, true, err);
}

/* In the container's namespaces and cgroup: apply the process identity and exec; on failure the
 * error goes to sync_fd. */
static __attribute__((noreturn)) void exec_in_container(const struct spec *s, const char *cwd,
                                                        const char *const *env, const char *const *argv,
                                                        int sync_fd, pid_t parent) {
  struct kerr e = {0};
  char **envp = process_environment(s->process.env, env, s->process.uid);
  char exe[PATH_MAX];
  if (envp == NULL)
    kerr_set(&e, ENOMEM, "environment");
  /* the container's filter, in the order the init loads it (see init.c) */
  else if ((s->seccomp == NULL || s->process.no_new_privileges || seccomp_filter_load(s->seccomp, &e) == 0) &&
           process_apply(&s->process, cwd != NULL ? cwd : s->process.cwd, &e) == 0 &&
           process_find_executable(argv[0], (const char *const *)envp, exe, sizeof exe, &e) == 0 &&
           (s->seccomp == NULL || !s->process.no_new_privileges || seccomp_filter_load(s->seccomp, &e) == 0)) {
    /* set after the uid change, which clears it */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) _exit(137);
    execve(exe, (char *const *)argv, envp);
    kerr_set(&e, errno, "execve %s", exe);
  }
  if (write(sync_fd, &e, sizeof e) < 0) _exit(126);
  _exit(127);
}

int container_exec(const struct global_opts *g, const char *id, const char *cwd, const char *const *env,
                   const char *const *argv, bool tty, int resize_fd, int *exit_code, struct kerr *err) {
  _cleanup_state_ struct state *st = NULL;
  if (state_load(g->root, id, &st, err) < 0) return -1;
  const char *status = state_status(st);
  if (strcmp(status, "running") != 0) return kerr_set(err, 0, "exec \"%s\": container is %s, not running", id, status);
  _cleanup_spec_ struct spec *s = NULL;
  if (spec_load(st->bundle, &s, err) < 0 || compile_seccomp(g, s, err) < 0) return kerr_wrap(err, "exec \"%s\"", id);
  struct cgroup cg;
  if (cgroup_from_dirs(st->cgroup_version, st->cgroup_dirs, st->n_cgroup_dirs, &cg, err) < 0)
    return kerr_wrap(err, "exec \"%s\"", id);
  struct console con = {-1, -1};
  if (tty && console_open(&con, err) < 0) {
    cgroup_release(&cg);
    return kerr_wrap(err, "exec \"%s\"", id);
  }
  _cleanup_close_ int master = con.master;
  int sync[2];
  if (pipe2(sync, O_CLOEXEC) < 0) {
    cgroup_release(&cg);
    if (tty) close(con.slave);
    return kerr_set(err, errno, "exec \"%s\": pipe", id);
  }
  /* An intermediate child joins the cgroup and namespaces, so this process stays where it is (its
   * exit path, e.g. the leak checker of the sanitizer build, reads /proc/self). */
  pid_t cli = getpid();
  pid_t child = fork();
  if (child < 0) {
    cgroup_release(&cg);
    if (tty) close(con.slave);
    return kerr_set(err, errno, "exec \"%s\": fork", id);
  }
  if (child == 0) {
    /* killing `kshim exec` (a probe timing out) must not leave its process in the container */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != cli) _exit(137);
    close(sync[0]);
    struct kerr e = {0};
    int status_code = 0;
    if (cg.ops->enter(&cg, 0, &e) < 0 || ns_enter_process(st->pid, &e) < 0) {
      if (write(sync[1], &e, sizeof e) < 0) _exit(126);
      _exit(127);
    }
    pid_t grandchild = fork();
    /* 0: the parent is outside the pid namespace the grandchild now lives in */
    if (grandchild == 0) {
      if (tty && console_take(con.slave, &e) < 0) {
        if (write(sync[1], &e, sizeof e) < 0) _exit(126);
        _exit(127);
      }
      exec_in_container(s, cwd, env, argv, sync[1], 0);
    }
    if (grandchild < 0) {
      kerr_set(&e, errno, "fork into the pid namespace");
      if (write(sync[1], &e, sizeof e) < 0) _exit(126);
      _exit(127);
    }
    close(sync[1]);
    if (tty) close(con.slave);
    while (waitpid(grandchild, &status_code, 0) < 0 && errno == EINTR) {
    }
    _exit(WIFEXITED(status_code) ? WEXITSTATUS(status_code) : 128 + WTERMSIG(status_code));
  }
  cgroup_release(&cg);
  close(sync[1]);
  /* only the process in the container may hold the slave, so its end reads EIO on the master */
  if (tty) close(con.slave);
  struct kerr child_err;
  ssize_t n = read(sync[0], &child_err, sizeof child_err);
  close(sync[0]);
  int relayed = 0;
  if (n != (ssize_t)sizeof child_err && tty && console_relay(master, 0, 1, resize_fd, err) < 0) {
    relayed = -1;
    kill(child, SIGKILL);
  }
  int status_code;
  while (waitpid(child, &status_code, 0) < 0 && errno == EINTR) {
  }
  if (n == (ssize_t)sizeof child_err) {
    *err = child_err;
    return kerr_wrap(err, "exec \"%s\"", id);
  }
  if (relayed < 0) return kerr_wrap(err, "exec \"%s\"", id);
  *exit_code = WIFEXITED(status_code) ? WEXITSTATUS(status_code) : 128 + WTERMSIG(status_code);
  return 0;
}
