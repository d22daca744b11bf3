/* Sealed re-execution (see self-exe.h): a memfd holding a copy of /proc/self/exe, sealed against
 * writes, growth, shrinking and further seal changes, then execveat(AT_EMPTY_PATH). */
#define _GNU_SOURCE
#include "self-exe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static bool running_sealed(int exe) {
  int seals = fcntl(exe, F_GET_SEALS);
  return seals >= 0 && (seals & SEALS) == SEALS;
}

int self_exe_ensure_sealed(char **argv, struct kerr *err) {
  _cleanup_close_ int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exe < 0) return kerr_set(err, errno, "open /proc/self/exe");
  if (running_sealed(exe)) {
    /* execveat named the process after the descriptor ("3"); ps should say what it is */
    prctl(PR_SET_NAME, "kshim", 0, 0, 0);
    return 0;
  }
  struct stat st;
  if (fstat(exe, &st) < 0) return kerr_set(err, errno, "stat /proc/self/exe");
  /* MFD_EXEC: kernels with vm.memfd_noexec may otherwise refuse to execute it */
  _cleanup_close_ int copy = memfd_create("kshim", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (copy < 0 && errno == EINVAL) copy = memfd_create("kshim", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (copy < 0) return kerr_set(err, errno, "memfd_create for a sealed copy of kshim");
  for (off_t done = 0; done < st.st_size;) {
    ssize_t n = sendfile(copy, exe, NULL, (size_t)(st.st_size - done));
    if (n <= 0) return kerr_set(err, n < 0 ? errno : EIO, "copy /proc/self/exe into a memfd");
    done += n;
  }
  if (fcntl(copy, F_ADD_SEALS, SEALS) < 0) return kerr_set(err, errno, "seal the copy of kshim");
  syscall(SYS_execveat, copy, "", argv, environ, AT_EMPTY_PATH);
  return kerr_set(err, errno, "execute the sealed copy of kshim");
}
