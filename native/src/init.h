/* The container's init before execve: runs in the new namespaces as a child of the monitor, waits
 * until the monitor moved it into the cgroup, builds the filesystem, applies the process identity,
 * reports readiness over the sync socket, then blocks on exec.fifo until `start`. */
#pragma once

#include "err.h"
#include "spec.h"

enum init_msg_type { INIT_READY = 1, INIT_ERROR = 2 };

struct init_msg {
  int type;
  struct kerr err;
};

/* Returns only on failure before readiness (the caller sends err to the monitor); after readiness
 * failures are written to stderr (the container log) and the process exits 127. */
int init_container(const struct spec *s, const char *state_dir, int sync_fd, struct kerr *err);
