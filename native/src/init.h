/* The container's init before execve: runs in the new namespaces as a child of the monitor, moves
 * itself into the container's cgroup (then enters its cgroup namespace, rooted there), builds the
 * filesystem, applies the process identity,
 * reports readiness over the sync socket, then blocks on exec.fifo until `start`. */
#pragma once

#include <stdbool.h>

#include "cgroup.h"
#include "err.h"
#include "spec.h"

enum init_msg_type { INIT_READY = 1, INIT_ERROR = 2 };

struct init_msg {
  int type;
  struct kerr err;
};

/* cg is the container's cgroup; the init moves itself into it when enter_cgroup (it was not
 * cloned into it), then always enters a cgroup namespace of its own rooted there.
 * Returns only on failure before readiness (the caller sends err to the monitor); after readiness
 * failures are written to stderr (the container log) and the process exits 127. */
int init_container(const struct spec *s, const struct cgroup *cg, bool enter_cgroup, const char *state_dir, int sync_fd,
                   struct kerr *err);
