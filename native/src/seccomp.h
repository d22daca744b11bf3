/* Seccomp: the OCI `linux.seccomp` object turned into a libseccomp filter when the spec is loaded
 * (so a bad profile is a create error naming its field), and loaded into the container process
 * just before execve (see init.c and container.c for where, which depends on no_new_privs). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "err.h"

struct seccomp_filter;

/* Validates linux.seccomp against the full OCI schema and builds its filter. Syscall names this
 * libseccomp does not know are skipped, as runc and crun do, so one profile serves older systems.
 * no_new_privs is process.noNewPrivileges: without it libseccomp must not set the flag itself,
 * and loading then needs CAP_SYS_ADMIN. Refused: listenerPath/listenerMetadata and
 * SCMP_ACT_NOTIFY (no seccomp agent), SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV. */
int seccomp_filter_build(json_t *seccomp, bool no_new_privs, struct seccomp_filter **out, struct kerr *err);

/* Installs the filter on the calling (single-threaded) process. */
int seccomp_filter_load(const struct seccomp_filter *f, struct kerr *err);

void seccomp_filter_free(struct seccomp_filter *f);
