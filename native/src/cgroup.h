/* Container cgroups: where they go (cgroupsPath resolved beneath the caller's own cgroup) and the
 * manager for the host's hierarchy kind, v1 (one directory per controller hierarchy) or v2 (one
 * unified directory), picked once by cgroup_open. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"
#include "spec.h"

#define CGROUP_MAX_DIRS 16

struct cgroup;

struct cgroup_ops {
  int version;
  /* Makes the directories and applies the limits; on error removes what it made. */
  int (*create)(struct cgroup *cg, const struct resources_spec *r, struct kerr *err);
  /* Moves pid into every directory of the cgroup; pid 0 is the calling process, which must be
   * single-threaded (on v1 it then moves itself through "tasks", which skips the kernel's global
   * threadgroup lock and the RCU grace period, ~10 ms, that taking it costs). */
  int (*enter)(const struct cgroup *cg, pid_t pid, struct kerr *err);
  /* Whether the kernel OOM-killed a process of the cgroup. */
  int (*oom_killed)(const struct cgroup *cg, bool *out, struct kerr *err);
};

struct cgroup {
  const struct cgroup_ops *ops;
  size_t n;
  char *dirs[CGROUP_MAX_DIRS];        /* absolute directory per hierarchy */
  char *controllers[CGROUP_MAX_DIRS]; /* v1: the hierarchy's controllers ("memory", "cpu,cpuacct") */
  char *top_created[CGROUP_MAX_DIRS]; /* highest directory create() made, for rollback; NULL if none */
};

extern const struct cgroup_ops cgroup_v1_ops;
extern const struct cgroup_ops cgroup_v2_ops;

/* Resolves cgroupsPath (NULL/"" means "kshim/<id>") for the host's hierarchies: a relative path is
 * taken beneath the caller's own cgroup (per controller on v1), an absolute one from the hierarchy
 * root. Paths at the root of a hierarchy (the root itself or a direct child of it) and paths with
 * ".." are refused unless allow_root. Nothing is created. */
int cgroup_resolve(const char *cgroups_path, const char *id, bool allow_root, struct cgroup *out, struct kerr *err);

/* Rebuilds a cgroup from the directories recorded in the state dir. */
int cgroup_from_dirs(int version, char *const *dirs, size_t n, struct cgroup *out, struct kerr *err);

/* Removes the directories (leaf only, or up to top_created after a failed create). Waits briefly
 * for exiting tasks; a missing directory is not an error. */
int cgroup_destroy(struct cgroup *cg, bool with_parents, struct kerr *err);

void cgroup_release(struct cgroup *cg);

/* Shared by the managers. */
int cgroup_write(const char *dir, const char *file, const char *value, struct kerr *err);
int cgroup_read_key(const char *dir, const char *file, const char *key, long long *out, struct kerr *err);
int cgroup_mkdir(struct cgroup *cg, size_t i, struct kerr *err);
