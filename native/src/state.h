/* The per-container state directory <root>/<id>/ (layout in native/README.md):
 *   shim.json   written once by the monitor when create succeeds (pid, bundle, cgroups, log path)
 *   exec.fifo   present from create until start; the init blocks on it
 *   exit.json   written by the monitor after it reaped the init (exit code or signal, oomKilled)
 *   container.log  default CRI log of the container's stdout/stderr
 * Files are written to a temp name and renamed, so readers never see half a file. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

struct state {
  json_t *json; /* shim.json, owned */
  char *dir;
  const char *id;
  const char *bundle;
  pid_t pid;
  unsigned long long start_time; /* of pid, from /proc/<pid>/stat, guards against pid reuse */
  pid_t monitor_pid;
  unsigned long long monitor_start_time;
  const char *log_path;
  int cgroup_version;
  char *cgroup_dirs[16];
  size_t n_cgroup_dirs;
};

/* Checks id ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 128) and joins <root>/<id>. */
int state_dir_path(const char *root, const char *id, char *out, size_t len, struct kerr *err);

int state_load(const char *root, const char *id, struct state **out, struct kerr *err);
void state_free(struct state *s);
static inline void cleanup_statep(struct state **s) {
  if (*s != NULL) state_free(*s);
}
#define _cleanup_state_ __attribute__((cleanup(cleanup_statep)))

/* "created", "running" or "stopped", from exit.json, the liveness of pid and exec.fifo. Between
 * the init's exit and the monitor's exit.json the container still reads "running", so that a
 * "stopped" state always comes with its exit record (unless the monitor itself was killed). */
const char *state_status(const struct state *s);

/* exit.json as written by the monitor, or NULL while the container has not been reaped. */
json_t *state_exit(const struct state *s);

/* Writes json to <dir>/<name> atomically. */
int state_write_json(const char *dir, const char *name, json_t *json, struct kerr *err);

/* Start time of pid in clock ticks since boot (field 22 of /proc/<pid>/stat); 0 when gone. */
unsigned long long state_proc_start_time(pid_t pid);

/* RFC 3339 UTC with nanoseconds, e.g. 2026-01-02T15:04:05.123456789Z. */
void state_rfc3339_now(char *buf, size_t len);

/* Removes <dir> and the files in it. */
int state_remove_dir(const char *dir, struct kerr *err);
