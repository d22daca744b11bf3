/* kshim-bench-driver: times create + start + wait + delete of one bundle on several OCI runtimes,
 * alternating between them run by run, from C so that the spawn cost of the measuring process is
 * the same small fork+exec for every runtime. All runtimes run in one private mount namespace
 * where the hybrid cgroup2 mount /sys/fs/cgroup/unified is detached (crun refuses the hybrid
 * layout otherwise). Prints one JSON line per container:
 *   {"runtime":"kshim","run":0,"create":1.2,"start":0.4,"wait":0.3,"delete":1.1,"total":3.0}
 * (milliseconds).
 * usage: kshim-bench-driver --bundle DIR --state DIR --runs N --prefix ID NAME=BINARY... */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct runtime {
  const char *name;
  const char *binary;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Runs argv with stdio on /dev/null; returns its exit status or -1. */
static int run(char *const argv[]) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    if (getenv("BENCH_VERBOSE") == NULL) dup2(devnull, 2);
    execvp(argv[0], argv);
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int read_pid(const char *path) {
  FILE *f = fopen(path, "re");
  int pid = -1;
  if (f == NULL) return -1;
  if (fscanf(f, "%d", &pid) != 1) pid = -1;
  fclose(f);
  return pid;
}

static int one(const struct runtime *rt, const char *bundle, const char *state, const char *prefix, int runno) {
  char root[4096], id[256], pidfile[4096];
  snprintf(root, sizeof root, "%s/%s", state, rt->name);
  snprintf(id, sizeof id, "%s-%s-%d", prefix, rt->name, runno);
  snprintf(pidfile, sizeof pidfile, "%s/%s.pid", state, id);
  char *bin = (char *)rt->binary;
  char *create[] = {bin, "--root", root, "create", "--bundle", (char *)bundle, "--pid-file", pidfile, id, NULL};
  char *start[] = {bin, "--root", root, "start", id, NULL};
  char *del[] = {bin, "--root", root, "delete", "--force", id, NULL};
  double t0 = now_ms();
  if (run(create) != 0) {
    fprintf(stderr, "%s create %s failed\n", rt->name, id);
    return -1;
  }
  double t1 = now_ms();
  int pid = read_pid(pidfile);
  int pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
  double t2 = now_ms();
  int rc = run(start);
  double t3 = now_ms();
  if (pidfd >= 0) {
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    poll(&p, 1, 10000);
    close(pidfd);
  }
  double t4 = now_ms();
  int drc = run(del);
  double t5 = now_ms();
  unlink(pidfile);
  if (rc != 0 || drc != 0) {
    fprintf(stderr, "%s start/delete %s failed (%d, %d)\n", rt->name, id, rc, drc);
    return -1;
  }
  printf("{\"runtime\":\"%s\",\"run\":%d,\"create\":%.3f,\"start\":%.3f,\"wait\":%.3f,\"delete\":%.3f,\"total\":%.3f}\n",
         rt->name, runno, t1 - t0, t3 - t2, t4 - t3, t5 - t4, (t1 - t0) + (t5 - t2));
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  const char *bundle = NULL, *state = NULL, *prefix = "bench";
  int runs = 20;
  struct runtime rts[8];
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--bundle") == 0 && i + 1 < argc) bundle = argv[++i];
    else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) state = argv[++i];
    else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
    else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc) prefix = argv[++i];
    else if (strchr(argv[i], '=') != NULL && n < 8) {
      char *eq = strchr(argv[i], '=');
      *eq = '\0';
      rts[n++] = (struct runtime){argv[i], eq + 1};
    } else {
      fprintf(stderr, "kshim-bench-driver: unexpected argument \"%s\"\n", argv[i]);
      return 2;
    }
  }
  if (bundle == NULL || state == NULL || n == 0 || runs <= 0) {
    fprintf(stderr, "usage: kshim-bench-driver --bundle DIR --state DIR --runs N [--prefix ID] NAME=BINARY...\n");
    return 2;
  }
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
    perror("kshim-bench-driver: private mount namespace");
    return 1;
  }
  if (access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) == 0 &&
      umount2("/sys/fs/cgroup/unified", MNT_DETACH) < 0) {
    perror("kshim-bench-driver: umount /sys/fs/cgroup/unified");
    return 1;
  }
  int failures = 0;
  for (int r = 0; r < runs; r++)
    for (int i = 0; i < n; i++)
      if (one(&rts[(i + r) % n], bundle, state, prefix, r) < 0) failures++;
  return failures == 0 ? 0 : 1;
}
