/* A pseudo-terminal for `kshim exec --tty`: kshim keeps the master and relays it to its own stdio;
 * the process in the container gets the slave as its controlling terminal and stdin/stdout/stderr. */
#pragma once

#include "err.h"

struct console {
  int master;
  int slave;
};

/* Opens a pty pair, both ends close-on-exec. */
int console_open(struct console *c, struct kerr *err);

/* In the process about to exec: a new session with `slave` as its controlling terminal and as fds
 * 0, 1 and 2. Must run before the seccomp filter is loaded (the profile may refuse TIOCSCTTY). */
int console_take(int slave, struct kerr *err);

/* Copies in_fd to the master and the master to out_fd until the slave side is closed by every
 * process holding it (the master then reads EIO). resize_fd (or -1) carries lines "ROWS COLS\n",
 * each applied to the terminal as its window size. An end of in_fd stops only that direction. */
int console_relay(int master, int in_fd, int out_fd, int resize_fd, struct kerr *err);
