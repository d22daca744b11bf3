/* cgroup v1: one directory per controller hierarchy (memory, cpu, cpuacct, pids, ...). Limits go to
 * the hierarchy that holds their controller; OOM kills are counted in memory.oom_control. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "devices.h"

static const char *dir_for(const struct cgroup *cg, const char *controller) {
  for (size_t i = 0; i < cg->n; i++) {
    const char *c = cg->controllers[i];
    size_t n = strlen(controller);
    for (const char *p = c; (p = strstr(p, controller)) != NULL; p += n)
      if ((p == c || p[-1] == ',') && (p[n] == '\0' || p[n] == ',')) return cg->dirs[i];
  }
  return NULL;
}

static int need(const struct cgroup *cg, const char *controller, const char *field, const char **dir,
                struct kerr *err) {
  *dir = dir_for(cg, controller);
  if (*dir == NULL)
    return kerr_set(err, ENOENT, "linux.resources.%s: no v1 \"%s\" hierarchy for this process", field, controller);
  return 0;
}

static int apply(const struct cgroup *cg, const struct resources_spec *r, struct kerr *err) {
  const char *dir;
  char v[32];
  if ((dir = dir_for(cg, "devices")) != NULL && devices_apply_v1(dir, r, err) < 0) return -1;
  if (r->memory_limit != -1 || r->memory_swap != -1) {
    if (need(cg, "memory", "memory", &dir, err) < 0) return -1;
    if (r->memory_limit != -1) {
      snprintf(v, sizeof v, "%" PRId64, r->memory_limit);
      if (cgroup_write(dir, "memory.limit_in_bytes", v, err) < 0) return -1;
    }
    if (r->memory_swap != -1) {
      snprintf(v, sizeof v, "%" PRId64, r->memory_swap);
      if (cgroup_write(dir, "memory.memsw.limit_in_bytes", v, err) < 0)
        return kerr_wrap(err, "linux.resources.memory.swap (is swap accounting on?)");
    }
  }
  if (r->cpu_shares != 0 || r->cpu_period != 0 || r->cpu_quota != -1) {
    if (need(cg, "cpu", "cpu", &dir, err) < 0) return -1;
    if (r->cpu_shares != 0) {
      snprintf(v, sizeof v, "%" PRIu64, r->cpu_shares);
      if (cgroup_write(dir, "cpu.shares", v, err) < 0) return -1;
    }
    if (r->cpu_period != 0) {
      snprintf(v, sizeof v, "%" PRIu64, r->cpu_period);
      if (cgroup_write(dir, "cpu.cfs_period_us", v, err) < 0) return -1;
    }
    if (r->cpu_quota != -1) {
      snprintf(v, sizeof v, "%" PRId64, r->cpu_quota);
      if (cgroup_write(dir, "cpu.cfs_quota_us", v, err) < 0) return -1;
    }
  }
  if (r->pids_limit != 0) {
    if (need(cg, "pids", "pids", &dir, err) < 0) return -1;
    if (r->pids_limit < 0)
      snprintf(v, sizeof v, "max");
    else
      snprintf(v, sizeof v, "%" PRId64, r->pids_limit);
    if (cgroup_write(dir, "pids.max", v, err) < 0) return -1;
  }
  return 0;
}

static int v1_create(struct cgroup *cg, const struct resources_spec *r, struct kerr *err) {
  for (size_t i = 0; i < cg->n; i++) {
    if (cgroup_mkdir(cg, i, err) < 0) goto fail;
  }
  if (apply(cg, r, err) < 0) goto fail;
  return 0;
fail: {
  struct kerr ignored;
  cgroup_destroy(cg, true, &ignored);
  return -1;
}
}

static int v1_enter(const struct cgroup *cg, pid_t pid, struct kerr *err) {
  char v[32];
  snprintf(v, sizeof v, "%d", (int)pid);
  for (size_t i = 0; i < cg->n; i++)
    if (cgroup_write(cg->dirs[i], pid == 0 ? "tasks" : "cgroup.procs", v, err) < 0) return -1;
  return 0;
}

static int v1_oom_killed(const struct cgroup *cg, bool *out, struct kerr *err) {
  const char *dir = dir_for(cg, "memory");
  long long kills = 0;
  *out = false;
  if (dir == NULL) return 0;
  if (cgroup_read_key(dir, "memory.oom_control", "oom_kill", &kills, err) < 0) return -1;
  *out = kills > 0;
  return 0;
}

const struct cgroup_ops cgroup_v1_ops = {
    .version = 1, .create = v1_create, .enter = v1_enter, .oom_killed = v1_oom_killed};
