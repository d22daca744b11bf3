/* Linux namespaces: joining the namespaces a spec names by path, and entering all namespaces of a
 * running container (exec). Creating namespaces is a clone flag, see monitor.c. */
#pragma once

#include <sys/types.h>

#include "err.h"
#include "spec.h"

/* Joins every namespace the spec gives a path for, except pid (see ns_join_pid_path). */
int ns_join_paths(const struct spec *s, struct kerr *err);

/* Joins the spec's pid namespace path, if any: only children forked afterwards are inside it. */
int ns_join_pid_path(const struct spec *s, struct kerr *err);

/* Enters the ipc, uts, net, pid, cgroup and mount namespaces of pid; the caller must fork for the
 * pid namespace to apply. The mount namespace goes last because it changes root and cwd. */
int ns_enter_process(pid_t pid, struct kerr *err);
