/* command-runner: the node agent's long-lived helper that runs programs for it, concurrently, so
 * that running one costs the agent no fork. Node forks the whole agent (about 100 MiB resident) on
 * its event loop for every process it starts; this process is about 1 MiB resident (100 KiB of it
 * its own) and forks a short-lived worker of itself per request, which starts the program, collects
 * its output and answers.
 *
 *   command-runner
 *
 * Requests come one per line on stdin in the helpers' line protocol (line-protocol.h):
 *
 *   ID TIMEOUT_MS PROGRAM [ARG]...
 *       runs PROGRAM (looked up in PATH when it has no slash) with the ARGs, stdin from /dev/null,
 *       stdout and stderr captured; after TIMEOUT_MS (0: never) it is killed with SIGKILL.
 *
 * Each request's answer comes when its program has exited, whatever the order of the requests:
 *
 *   ID ok CODE HOW STDOUT STDERR
 *       CODE is the exit code, or 128 + the signal that killed it; HOW is `exited`, `signaled` or
 *       `timed-out` (killed at TIMEOUT_MS). STDOUT and STDERR are escaped so the answer stays one
 *       line: `\\`, `\t`, `\n`, `\r`, and other control bytes as `\xHH`. The answer is one write()
 *       of at most PIPE_BUF bytes, so answers of concurrent workers never interleave: output that
 *       does not fit is cut and ends with `[... N bytes in all]`.
 *   ID err MESSAGE
 *       the program could not be run (a bad request, fork, or exec: `exec PROGRAM: strerror`).
 *
 * The program inherits no descriptor of this process but the three it is given, and SIGPIPE and
 * SIGCHLD at their defaults. The program's output ends when it exits: what a process it left behind
 * (a container's monitor) writes later is not waited for. Workers are reaped as they end.
 *
 * EOF on stdin ends this process once its workers have answered (an answer to an agent that is
 * gone fails with EPIPE, which only ends its worker). If this process is killed, its workers and
 * their programs are killed with it (parent-death signal): the agent fails those requests and
 * cleans up after them (a container whose create it saw fail is deleted), which a program still
 * running unseen would race.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "line-protocol.h"

#define MAX_FIELDS 256
/* Longer ids would leave no room for the output (the agent's are decimal counters). */
#define MAX_ID 32
/* What one stream may keep: more can never fit in an answer. */
#define KEEP PIPE_BUF

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct capture {
  int fd;
  char kept[KEEP];
  size_t len;   /* bytes in kept */
  size_t total; /* bytes the program wrote */
};

/* Reads what is there into c; returns read()'s result. */
static ssize_t read_some(struct capture *c) {
  char scratch[KEEP];
  ssize_t r = read(c->fd, scratch, sizeof scratch);
  if (r <= 0) return r;
  size_t room = KEEP - c->len;
  size_t take = (size_t)r < room ? (size_t)r : room;
  memcpy(c->kept + c->len, scratch, take);
  c->len += take;
  c->total += (size_t)r;
  return r;
}

/* The escaped form of byte b into out (room for 4); returns its length. */
static size_t escape_byte(unsigned char b, char *out) {
  static const char hex[] = "0123456789abcdef";
  switch (b) {
  case '\\': return (size_t)(memcpy(out, "\\\\", 2), 2);
  case '\t': return (size_t)(memcpy(out, "\\t", 2), 2);
  case '\n': return (size_t)(memcpy(out, "\\n", 2), 2);
  case '\r': return (size_t)(memcpy(out, "\\r", 2), 2);
  default:
    if (b >= 0x20 && b != 0x7f) {
      out[0] = (char)b;
      return 1;
    }
    out[0] = '\\';
    out[1] = 'x';
    out[2] = hex[b >> 4];
    out[3] = hex[b & 15];
    return 4;
  }
}

static size_t escaped_len(const struct capture *c) {
  char tmp[4];
  size_t n = 0;
  for (size_t i = 0; i < c->len; i++) n += escape_byte((unsigned char)c->kept[i], tmp);
  return n;
}

/* Appends c's escaped output to out within `room` bytes, cut and marked when it does not all fit. */
static size_t put_output(const struct capture *c, char *out, size_t room) {
  char marker[64];
  int mlen = snprintf(marker, sizeof marker, "[... %zu bytes in all]", c->total);
  int whole = c->total == c->len && escaped_len(c) <= room;
  size_t limit = whole ? room : room > (size_t)mlen ? room - (size_t)mlen : 0;
  size_t n = 0;
  char tmp[4];
  for (size_t i = 0; i < c->len; i++) {
    size_t e = escape_byte((unsigned char)c->kept[i], tmp);
    if (n + e > limit) break;
    memcpy(out + n, tmp, e);
    n += e;
  }
  if (!whole && n + (size_t)mlen <= room) {
    memcpy(out + n, marker, (size_t)mlen);
    n += (size_t)mlen;
  }
  return n;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Makes this process die with its parent `parent`; false when that parent is already gone. */
static int die_with(pid_t parent) { return prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && getppid() == parent; }

/* The program's side of the fork: its three descriptors, default signals, then exec. An exec that
 * fails sends its errno over `report` (closed by a successful exec: CLOEXEC). */

__attribute__((noreturn)) static void exec_program(char **argv, int devnull, int out, int err, int report, pid_t worker) {
  signal(SIGPIPE, SIG_DFL);
  if (!die_with(worker)) _exit(127);
  if (dup2(devnull, 0) >= 0 && dup2(out, 1) >= 0 && dup2(err, 2) >= 0) execvp(argv[0], argv);
  int e = errno;
  /* Nothing is left to tell if even this fails: the worker then sees exit code 127. */
  if (write(report, &e, sizeof e) < 0) _exit(127);
  _exit(127);
}

/* The worker: runs one program and answers for it. Returns the worker's exit status. */
static int run_one(const char *id, long long timeout_ms, char **argv, pid_t helper) {
  /* The program's exit is this worker's to collect, not the reaper's it inherited. */
  signal(SIGCHLD, SIG_DFL);
  if (!die_with(helper)) return 1;
  pid_t worker = getpid();
  int out[2], err[2], report[2];
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0) {
    lp_err(id, "pipes for %s: %s", argv[0], strerror(errno));
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    lp_err(id, "fork for %s: %s", argv[0], strerror(errno));
    return 1;
  }
  if (pid == 0) exec_program(argv, devnull, out[1], err[1], report[1], worker);
  close(devnull);
  close(out[1]);
  close(err[1]);
  close(report[1]);
  int exec_errno;
  ssize_t r;
  while ((r = read(report[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
  }
  close(report[0]);
  if (r == (ssize_t)sizeof exec_errno) {
    waitpid(pid, NULL, 0);
    lp_err(id, "exec %s: %s", argv[0], strerror(exec_errno));
    return 1;
  }

  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    lp_err(id, "pidfd_open for %s: %s", argv[0], strerror(errno));
    return 1;
  }
  static struct capture streams[2];
  streams[0].fd = out[0];
  streams[1].fd = err[0];
  long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
  int timed_out = 0;
  struct pollfd fds[3] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
  for (;;) {
    int wait_ms = -1;
    if (deadline && !timed_out) {
      long long left = deadline - now_ms();
      wait_ms = left > 0 ? (int)(left < INT_MAX ? left : INT_MAX) : 0;
    }
    int ready = poll(fds, 3, wait_ms);
    if (ready < 0 && errno != EINTR) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      lp_err(id, "poll for %s: %s", argv[0], strerror(errno));
      return 1;
    }
    if (ready == 0 && deadline && !timed_out) {
      kill(pid, SIGKILL);
      timed_out = 1;
    }
    for (int i = 0; i < 2; i++) {
      if (!fds[i].revents) continue;
      ssize_t got = read_some(&streams[i]);
      if (got == 0 || (got < 0 && errno != EINTR)) fds[i].fd = -1;
    }
    if (fds[2].revents) break;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  /* What the program wrote before it exited is in the pipes; a process it left holding them (a
   * container's monitor) must not hold up the answer. */
  for (int i = 0; i < 2; i++) {
    if (fds[i].fd < 0) continue;
    fcntl(fds[i].fd, F_SETFL, O_NONBLOCK);
    while (read_some(&streams[i]) > 0) {
    }
  }

  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  const char *how = timed_out ? "timed-out" : WIFEXITED(status) ? "exited" : "signaled";
  char answer[PIPE_BUF];
  int head = snprintf(answer, sizeof answer, "%s\tok\t%d\t%s\t", id, code, how);
  /* Room for both outputs, the tab between them and the final newline; a stream that needs less
   * than half leaves the rest to the other. */
  size_t room = sizeof answer - (size_t)head - 2;
  size_t need_out = streams[0].total == streams[0].len ? escaped_len(&streams[0]) : room;
  size_t need_err = streams[1].total == streams[1].len ? escaped_len(&streams[1]) : room;
  size_t room_err = need_out < room / 2 ? room - need_out : need_err < room / 2 ? need_err : room / 2;
  size_t n = (size_t)head;
  n += put_output(&streams[0], answer + n, room - room_err);
  answer[n++] = '\t';
  n += put_output(&streams[1], answer + n, room_err);
  answer[n++] = '\n';
  return lp_write_answer(answer, n) < 0 ? 1 : 0;
}

static void handle(const char *id, char **f, int n) {
  if (strlen(id) > MAX_ID) {
    lp_err(id, "an id longer than %d bytes", MAX_ID);
    return;
  }
  char *end;
  errno = 0;
  long long timeout_ms = n >= 1 ? strtoll(f[0], &end, 10) : -1;
  if (n < 2 || errno || *f[0] == '\0' || *end != '\0' || timeout_ms < 0 || *f[1] == '\0') {
    lp_err(id, "expected TIMEOUT_MS PROGRAM [ARG]..., got %d fields", n);
    return;
  }
  pid_t helper = getpid();
  pid_t pid = fork();
  if (pid < 0)
    lp_err(id, "fork a worker for %s: %s", f[1], strerror(errno));
  else if (pid == 0)
    _exit(run_one(id, timeout_ms, f + 1, helper));
}

/* Reaps ended workers as they end, so none is left a zombie. */
static void reap(int sig) {
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

int main(int argc, char **argv) {
  (void)argv;
  if (argc != 1) {
    fputs("usage: command-runner\n", stderr);
    return 1;
  }
  /* Nothing the agent let through beyond stdio reaches a program. */
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {.sa_handler = reap, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGCHLD, &sa, NULL) < 0) {
    perror("command-runner: sigaction");
    return 1;
  }
  int rc = lp_serve(MAX_FIELDS, handle) < 0 ? 1 : 0;
  /* Exiting now would kill the workers (their parent-death signal) and their programs half-way. */
  while (wait(NULL) >= 0 || errno == EINTR) {
  }
  return rc;
}
