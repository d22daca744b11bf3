/* The OCI runtime commands on a container id: create, start, state, kill, delete, run, exec. Each
 * returns 0 or -1 with err filled; only main prints. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "err.h"

struct global_opts {
  const char *root;        /* state root, default /run/kshim */
  bool allow_root_cgroup;  /* --allow-root-cgroup */
};

int container_create(const struct global_opts *g, const char *id, const char *bundle, const char *pid_file,
                     struct kerr *err);
int container_start(const struct global_opts *g, const char *id, struct kerr *err);
/* OCI state JSON plus the exit record once stopped (see README). */
int container_state(const struct global_opts *g, const char *id, json_t **out, struct kerr *err);
int container_kill(const struct global_opts *g, const char *id, int sig, struct kerr *err);
int container_delete(const struct global_opts *g, const char *id, bool force, struct kerr *err);
/* create + start, wait for the exit, delete; *exit_code is the container's. With detach: create +
 * start only, returning once the process is released (runc's run --detach); a failed start leaves
 * no container. */
int container_run(const struct global_opts *g, const char *id, const char *bundle, const char *pid_file,
                  bool detach, int *exit_code, struct kerr *err);
/* Runs argv in the container's namespaces and cgroup with its process identity; waits for it. With
 * tty, the process gets a pseudo-terminal relayed to this process's stdin/stdout, and resize_fd
 * (or -1) carries its window sizes (see console.h). */
int container_exec(const struct global_opts *g, const char *id, const char *cwd, const char *const *env,
                   const char *const *argv, bool tty, int resize_fd, int *exit_code, struct kerr *err);
