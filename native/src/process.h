/* The identity and environment of a container process, applied in the process itself just before
 * execve: rlimits, oom_score_adj, groups/gid/uid, the five capability sets, no_new_privs, cwd, and
 * the lookup of args[0] in the container's PATH. Shared by the container init and exec. */
#pragma once

#include "err.h"
#include "spec.h"

/* Applies rlimits, oom_score_adj, user and capabilities, no_new_privs, then chdir(cwd). */
int process_apply(const struct process_spec *p, const char *cwd, struct kerr *err);

/* Resolves args[0] against PATH from env (or the OCI default PATH) into out. */
int process_find_executable(const char *arg0, const char *const *env, char *out, size_t len, struct kerr *err);

/* Builds the environment: base, then overrides (KEY=VALUE, replacing the same KEY), then HOME from
 * /etc/passwd (or "/") when absent. Returns a malloc'd NULL-terminated array of borrowed/owned
 * strings; the process execs or exits soon after, so it is not freed. */
char **process_environment(const char *const *base, const char *const *overrides, uid_t uid);
