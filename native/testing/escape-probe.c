/* escape-probe: the syscalls a process breaking out of a container reaches for, one attempt per
 * argument (each in a child process), reported as "<attempt>: ok" or "<attempt>: <strerror> (errno N)". Built static
 * by the tests into the bundle's rootfs (busybox has no keyctl, and its ptrace-free tools cannot
 * attach). Exit status: the number of attempts that succeeded.
 *   keyctl   join a new session keyring (the kernel keyring is not namespaced)
 *   ptrace   attach to a child of its own (same uid, so only seccomp or caps stop it)
 *   userns   unshare a user namespace (root inside it regains every capability)
 *   mount    mount a tmpfs on /mnt (needs CAP_SYS_ADMIN, or a user namespace)
 *   read:P   read the file P */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int attempt(const char *what) {
  if (strcmp(what, "keyctl") == 0) return (int)syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "escape-probe");
  if (strcmp(what, "userns") == 0) return unshare(CLONE_NEWUSER);
  if (strcmp(what, "mount") == 0) {
    mkdir("/mnt", 0755);
    return mount("probe", "/mnt", "tmpfs", 0, NULL);
  }
  if (strcmp(what, "ptrace") == 0) {
    pid_t child = fork();
    if (child == 0) {
      pause();
      _exit(0);
    }
    long rc = ptrace(PTRACE_ATTACH, child, 0, 0);
    int e = errno;
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    errno = e;
    return (int)rc;
  }
  if (strncmp(what, "read:", 5) == 0) {
    char buf[64];
    int fd = open(what + 5, O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf) < 0) return -1;
    return close(fd);
  }
  errno = EINVAL;
  return -1;
}

int main(int argc, char **argv) {
  int succeeded = 0;
  for (int i = 1; i < argc; i++) {
    fflush(stdout);
    /* each attempt in a process of its own: a user namespace or a keyring must not leak into the next */
    pid_t pid = fork();
    if (pid == 0) {
      errno = 0;
      int rc = attempt(argv[i]);
      if (rc >= 0)
        printf("%s: ok\n", argv[i]);
      else
        printf("%s: %s (errno %d)\n", argv[i], strerror(errno), errno);
      fflush(stdout);
      _exit(rc >= 0 ? 0 : 1);
    }
    int status = 1;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) return 126;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) succeeded++;
  }
  return succeeded;
}
