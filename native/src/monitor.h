/* The per-container monitor: a process detached from the caller (its own session; re-parented to
 * init or the nearest subreaper when the CLI that forked it exits) that clones the container init into its namespaces, places it in
 * the cgroup, reports the result of create to the CLI, then copies the container's stdout/stderr
 * into the CRI log (rotated by size: <log>.1 is the newest rotated file), reaps the init and records
 * its exit in exit.json. */
#pragma once

#include <sys/types.h>

#include "cgroup.h"
#include "err.h"
#include "spec.h"

struct monitor_report {
  int ok;
  pid_t pid;
  struct kerr err;
};

struct monitor_args {
  const struct spec *spec;
  struct cgroup *cgroup;
  const char *id;
  const char *state_dir;
  const char *log_path;
  long long log_max_size; /* rotate the log before it would grow past this many bytes */
  int log_max_files;      /* the log and its rotated files log.1 .. log.<n-1> */
  int report_fd; /* receives one struct monitor_report, then is closed */
  int stdin_mode; /* MONITOR_STDIN_NONE (/dev/null), _OPEN or _ONCE (see attach.h) */
};

enum { MONITOR_STDIN_NONE, MONITOR_STDIN_OPEN, MONITOR_STDIN_ONCE };

/* Never returns. */
void monitor_main(const struct monitor_args *a) __attribute__((noreturn));
