/* Seccomp: the OCI `linux.seccomp` object compiled into a BPF program with libseccomp before the
 * container is cloned (so a bad profile is a create error naming its field), and loaded into the
 * container process just before execve (see init.c and container.c for where, which depends on
 * no_new_privs). Compiled programs are cached by the exact profile text, as crun does: building
 * and compiling Docker's default profile costs 10-40 ms, loading a cached one well under 1 ms. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "err.h"

struct seccomp_filter;

/* Takes linux.seccomp (borrowed: it must outlive the filter); nothing is checked until
 * seccomp_filter_compile. */
int seccomp_filter_new(json_t *seccomp, struct seccomp_filter **out, struct kerr *err);

/* Validates the profile against the full OCI schema and compiles it, or takes the program from
 * cache_dir (created 0700 if missing) when this exact profile was compiled before. Syscall names
 * this libseccomp does not know are skipped, as runc and crun do, so one profile serves older
 * systems. Refused: listenerPath/listenerMetadata and SCMP_ACT_NOTIFY (no seccomp agent),
 * SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV. */
int seccomp_filter_compile(struct seccomp_filter *f, const char *cache_dir, struct kerr *err);

/* Installs the compiled filter on the calling (single-threaded) process: it needs no_new_privs
 * set or CAP_SYS_ADMIN (process.noNewPrivileges false). */
int seccomp_filter_load(const struct seccomp_filter *f, struct kerr *err);

void seccomp_filter_free(struct seccomp_filter *f);
