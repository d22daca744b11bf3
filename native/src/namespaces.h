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

/* Enters the ipc, uts, net, pid, cgroup and mount namespaces of pid, then its user namespace if it
 * has its own (the others may belong to the host's, which only the host's root can join); the
 * caller must fork for the pid namespace to apply. */
int ns_enter_process(pid_t pid, struct kerr *err);

/* Parent side of a new user namespace: writes /proc/<pid>/uid_map and gid_map from the spec. The
 * caller is root in the parent namespace, so setgroups stays allowed (process.user.additionalGids
 * needs it). */
int ns_write_id_maps(const struct spec *s, pid_t pid, struct kerr *err);

/* Most descriptors the parent hands the child with the release (idmapped mount trees). */
#define NS_MAX_PASSED_FDS 64

/* Parent side, once the maps are written: releases the child waiting in ns_become_userns_root,
 * passing it fds (n <= NS_MAX_PASSED_FDS). */
int ns_release_userns_child(int sync_fd, const int *fds, size_t n, struct kerr *err);

/* Child side: waits on sync_fd for the release (the maps are written then), receiving up to max
 * descriptors into fds (*n of them), then becomes the namespace's root (uid and gid 0, no
 * supplementary groups) so that what it creates inside has an owner there. */
int ns_become_userns_root(int sync_fd, int *fds, size_t max, size_t *n, struct kerr *err);
