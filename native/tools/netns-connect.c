/* netns-connect: a TCP connection to localhost inside a pod's network namespace, relayed over
 * this process's stdin and stdout, for the node agent's port-forward (what containerd's CRI does
 * for the kubelet: connect to localhost in the sandbox's netns, so a server bound to 127.0.0.1
 * in the pod is reachable too).
 *
 *   netns-connect NETNS PORT
 *
 * NETNS is an nsfs file (the pod's bind-mounted netns or /proc/PID/ns/net). The process enters it
 * (Node cannot setns), connects to 127.0.0.1:PORT and then [::1]:PORT, and copies stdin to the
 * socket and the socket to stdout until the server's side is done. Half-close aware: EOF on
 * stdin becomes shutdown(SHUT_WR) on the socket once what was read is written, so the server still
 * answers; the server's EOF closes stdout and ends the relay (as containerd's port-forward ends the
 * stream when the pod's connection closes). Each direction holds at most one buffer, and a direction reads only when its
 * buffer is empty, so a slow reader stops the writer (no unbounded buffering).
 *
 * Exit status: 0 when the relay ended normally; 1 on bad usage or when the netns cannot be
 * entered; 2 when neither address accepts the connection (stderr says why, for each); 3 when the
 * connection breaks mid-way. The only output besides the relayed bytes is one line on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)

__attribute__((noreturn, format(printf, 2, 3))) static void die(int status, const char *fmt, ...) {
  va_list ap;
  fputs("netns-connect: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(status);
}

/* Connects to ADDR:PORT; returns the socket, or -1 with errno set. */
static int connect_to(int family, const void *addr, unsigned port) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int rc;
  if (family == AF_INET) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    memcpy(&sa.sin_addr, addr, sizeof sa.sin_addr);
    rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  } else {
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    memcpy(&sa.sin6_addr, addr, sizeof sa.sin6_addr);
    rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  }
  if (rc < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

/* One direction of the relay: bytes read from `in` wait in `buf` until written to `out`. */
struct pipe_dir {
  int in, out;
  char buf[BUF_SIZE];
  size_t len, off;
  int eof;  /* `in` reached EOF */
  int done; /* EOF passed on to `out` */
};

static void set_nonblock(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) die(1, "fcntl(%d): %s", fd, strerror(errno));
}

/* Passes EOF on: shutdown for the socket, close for stdout. */
static void finish(struct pipe_dir *d, int sock) {
  if (d->out == sock)
    shutdown(sock, SHUT_WR);
  else
    close(d->out);
  d->done = 1;
}

/* Moves what it can; returns 0, or (errno set) -1 when reading broke, -2 when writing did. */
static int step(struct pipe_dir *d, short in_events, short out_events, int sock) {
  if (d->len == 0 && !d->eof && (in_events & (POLLIN | POLLHUP | POLLERR))) {
    ssize_t n = read(d->in, d->buf, sizeof d->buf);
    if (n > 0) {
      d->len = (size_t)n;
      d->off = 0;
    } else if (n == 0 || (errno == ECONNRESET && d->in != sock)) {
      d->eof = 1;
    } else if (errno != EAGAIN && errno != EINTR) {
      return -1;
    }
  }
  if (d->len > 0 && (out_events & (POLLOUT | POLLERR | POLLHUP))) {
    ssize_t n = write(d->out, d->buf + d->off, d->len);
    if (n > 0) {
      d->off += (size_t)n;
      d->len -= (size_t)n;
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return -2;
    }
  }
  if (d->eof && d->len == 0 && !d->done) finish(d, sock);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) die(1, "usage: netns-connect NETNS PORT");
  char *end;
  long port = strtol(argv[2], &end, 10);
  if (*argv[2] == '\0' || *end != '\0' || port < 1 || port > 65535)
    die(1, "port %s: must be a number from 1 to 65535", argv[2]);
  signal(SIGPIPE, SIG_IGN);

  int nsfd = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) die(1, "open netns %s: %s", argv[1], strerror(errno));
  if (setns(nsfd, CLONE_NEWNET) < 0) die(1, "setns %s: %s", argv[1], strerror(errno));
  close(nsfd);

  struct in_addr v4 = {htonl(INADDR_LOOPBACK)};
  int sock = connect_to(AF_INET, &v4, (unsigned)port);
  if (sock < 0) {
    int err4 = errno;
    sock = connect_to(AF_INET6, &in6addr_loopback, (unsigned)port);
    if (sock < 0)
      die(2, "failed to connect to localhost:%ld inside namespace, IPv4: connect: %s IPv6: connect: %s", port,
          strerror(err4), strerror(errno));
  }

  set_nonblock(STDIN_FILENO);
  set_nonblock(STDOUT_FILENO);
  set_nonblock(sock);
  static struct pipe_dir up, down;
  up.in = STDIN_FILENO;
  up.out = sock;
  down.in = sock;
  down.out = STDOUT_FILENO;

  while (!down.done) {
    /* A socket that has been written to and read from in full, in both ways, is done; until
     * then each fd is polled only for what its direction waits on. */
    struct pollfd fds[3] = {
        {.fd = STDIN_FILENO, .events = (!up.eof && up.len == 0) ? POLLIN : 0},
        {.fd = sock, .events = (short)(((!down.eof && down.len == 0) ? POLLIN : 0) | (up.len > 0 ? POLLOUT : 0))},
        {.fd = down.done ? -1 : STDOUT_FILENO, .events = down.len > 0 ? POLLOUT : 0},
    };
    /* An fd polled for nothing would still report POLLHUP at once, and spin the loop. */
    for (int i = 0; i < 3; i++)
      if (fds[i].events == 0) fds[i].fd = -1;
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      die(3, "poll: %s", strerror(errno));
    }
    if (step(&up, fds[0].revents, fds[1].revents, sock) < 0)
      die(3, "connection to localhost:%ld: %s", port, strerror(errno));
    int rc = step(&down, fds[1].revents, fds[2].revents, sock);
    /* Writing to stdout failed: the client went away, there is nothing more to deliver. */
    if (rc == -2) break;
    if (rc < 0) die(3, "connection to localhost:%ld: %s", port, strerror(errno));
  }
  close(sock);
  return 0;
}
