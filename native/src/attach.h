/* A container's stdin for attach (OCI has no field for it: kshim reads the annotation
 * io.kctl.shim.stdin, "open" or "once"). The init's stdin is a pipe; the monitor holds its write end
 * and serves <state dir>/attach.sock (0600): the bytes of one connected client at a time go to the
 * pipe. With "once" the pipe is closed when the first client disconnects, so the container reads
 * EOF (Kubernetes' stdinOnce); with "open" it stays open for the next client. */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define ATTACH_SOCKET "attach.sock"

struct attach {
  int listen_fd;
  int client_fd;
  int pipe_fd; /* the write end; -1 once closed */
  bool once;
  size_t pending, offset;
  char buf[4096];
};

/* Makes the pipe and the listening socket; *container_stdin is the pipe's read end (close-on-exec:
 * dup it onto fd 0). */
int attach_open(struct attach *at, const char *state_dir, bool once, int *container_stdin, struct kerr *err);

/* The three descriptors to poll (listening socket, client, pipe), set for what `at` waits for. */
void attach_poll_fds(const struct attach *at, struct pollfd fds[3]);

/* Acts on what poll reported on the descriptors attach_poll_fds gave. */
void attach_handle(struct attach *at, const struct pollfd fds[3]);
