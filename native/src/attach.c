/* Container stdin for attach (see attach.h). The pipe's write end is non-blocking and at most one
 * buffer of a client's bytes is held: a container that does not read its stdin stalls the client,
 * never the monitor, which also copies the container's output into its log. */
#define _GNU_SOURCE
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int attach_open(struct attach *at, const char *state_dir, bool once, int *container_stdin, struct kerr *err) {
  *at = (struct attach){.listen_fd = -1, .client_fd = -1, .pipe_fd = -1, .once = once};
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int n = snprintf(addr.sun_path, sizeof addr.sun_path, "%s/" ATTACH_SOCKET, state_dir);
  if (n < 0 || (size_t)n >= sizeof addr.sun_path)
    return kerr_set(err, ENAMETOOLONG, "stdin: socket %s/" ATTACH_SOCKET, state_dir);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return kerr_set(err, errno, "stdin: pipe");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  /* the umask covers the window between bind and chmod */
  mode_t old = umask(0177);
  int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&addr, sizeof addr);
  umask(old);
  if (rc < 0 || chmod(addr.sun_path, 0600) < 0 || listen(fd, 4) < 0 ||
      fcntl(p[1], F_SETFL, O_NONBLOCK) < 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    close(p[0]);
    close(p[1]);
    return kerr_set(err, e, "stdin: listen on %s", addr.sun_path);
  }
  at->listen_fd = fd;
  at->pipe_fd = p[1];
  *container_stdin = p[0];
  return 0;
}

void attach_poll_fds(const struct attach *at, struct pollfd fds[3]) {
  bool open = at->pipe_fd >= 0;
  fds[0] = (struct pollfd){.fd = open && at->client_fd < 0 ? at->listen_fd : -1, .events = POLLIN};
  fds[1] = (struct pollfd){.fd = open && at->pending == 0 ? at->client_fd : -1, .events = POLLIN};
  fds[2] = (struct pollfd){.fd = open && at->pending > 0 ? at->pipe_fd : -1, .events = POLLOUT};
}

static void client_gone(struct attach *at) {
  close(at->client_fd);
  at->client_fd = -1;
  at->pending = at->offset = 0;
  if (at->once) {
    close(at->pipe_fd);
    at->pipe_fd = -1;
    close(at->listen_fd);
    at->listen_fd = -1;
  }
}

static void flush(struct attach *at) {
  while (at->pending > 0) {
    ssize_t w = write(at->pipe_fd, at->buf + at->offset, at->pending);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) return;
    if (w <= 0) {
      /* the container closed its stdin: nothing more can be delivered */
      at->pending = 0;
      client_gone(at);
      return;
    }
    at->offset += (size_t)w;
    at->pending -= (size_t)w;
  }
  at->offset = 0;
}

void attach_handle(struct attach *at, const struct pollfd fds[3]) {
  if (fds[0].fd >= 0 && (fds[0].revents & POLLIN)) {
    int c = accept4(at->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0) at->client_fd = c;
  }
  if (fds[1].fd >= 0 && fds[1].revents != 0) {
    ssize_t n = read(at->client_fd, at->buf, sizeof at->buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      client_gone(at);
      return;
    }
    at->pending = (size_t)n;
    at->offset = 0;
    flush(at);
  } else if (fds[2].fd >= 0 && fds[2].revents != 0) {
    flush(at);
  }
}
