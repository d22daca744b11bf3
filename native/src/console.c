/* Pseudo-terminal for exec --tty (see console.h). The pair comes from the host's devpts, opened
 * before the exec joins the container's namespaces, so the container never sees the master. */
#define _GNU_SOURCE
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int console_open(struct console *c, struct kerr *err) {
  c->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (c->master < 0) return kerr_set(err, errno, "console: open /dev/ptmx");
  char name[PATH_MAX];
  if (grantpt(c->master) < 0 || unlockpt(c->master) < 0 || ptsname_r(c->master, name, sizeof name) != 0) {
    int e = errno;
    close(c->master);
    return kerr_set(err, e, "console: unlock the pty");
  }
  c->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (c->slave < 0) {
    int e = errno;
    close(c->master);
    return kerr_set(err, e, "console: open %s", name);
  }
  return 0;
}

int console_take(int slave, struct kerr *err) {
  if (setsid() < 0) return kerr_set(err, errno, "console: setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0) return kerr_set(err, errno, "console: TIOCSCTTY");
  for (int fd = 0; fd <= 2; fd++)
    if (dup2(slave, fd) < 0) return kerr_set(err, errno, "console: dup2 onto fd %d", fd);
  if (slave > 2) close(slave);
  return 0;
}

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Applies each complete "ROWS COLS" line of buf[0..*len); keeps a partial last line. A malformed
 * line is an error naming it: the agent writes these lines, so one never comes from a user. */
static int apply_resizes(int master, char *buf, size_t *len, struct kerr *err) {
  char *start = buf, *nl;
  while ((nl = memchr(start, '\n', *len - (size_t)(start - buf))) != NULL) {
    *nl = '\0';
    unsigned rows, cols;
    char extra;
    if (sscanf(start, "%u %u%c", &rows, &cols, &extra) != 2 || rows > USHRT_MAX || cols > USHRT_MAX)
      return kerr_set(err, 0, "console: resize \"%s\": want \"ROWS COLS\" (0..65535)", start);
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    if (ioctl(master, TIOCSWINSZ, &ws) < 0) return kerr_set(err, errno, "console: TIOCSWINSZ");
    start = nl + 1;
  }
  *len -= (size_t)(start - buf);
  memmove(buf, start, *len);
  if (*len == 64) return kerr_set(err, 0, "console: resize line longer than 63 bytes");
  return 0;
}

int console_relay(int master, int in_fd, int out_fd, int resize_fd, struct kerr *err) {
  char buf[16384], resize[64];
  size_t resize_len = 0;
  struct pollfd fds[3] = {{.fd = master, .events = POLLIN}, {.fd = in_fd, .events = POLLIN},
                          {.fd = resize_fd, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return kerr_set(err, errno, "console: poll");
    }
    if (fds[0].revents != 0) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      /* EIO: every holder of the slave closed it, i.e. the process (and what it left running) ended */
      if (n <= 0) return 0;
      if (write_all(out_fd, buf, (size_t)n) < 0) return kerr_set(err, errno, "console: write output");
    }
    /* before input: a size sent ahead of a command applies before the command reads it */
    if (fds[2].revents != 0) {
      ssize_t n = read(resize_fd, resize + resize_len, sizeof resize - resize_len);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fds[2].fd = -1;
      else {
        resize_len += (size_t)n;
        if (apply_resizes(master, resize, &resize_len, err) < 0) return -1;
      }
    }
    if (fds[1].revents != 0) {
      ssize_t n = read(in_fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fds[1].fd = -1;
      else if (write_all(master, buf, (size_t)n) < 0) return kerr_set(err, errno, "console: write input");
    }
  }
}
