/* cgroup v2: one directory in the unified hierarchy. The controllers a limit needs are enabled in
 * cgroup.subtree_control of every ancestor below the caller's delegated cgroup; OOM kills are
 * counted in memory.events. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "devices.h"

static int read_file(const char *dir, const char *file, char *buf, size_t len, struct kerr *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return kerr_set(err, errno, "open %s", path);
  ssize_t n = read(fd, buf, len - 1);
  if (n < 0) return kerr_set(err, errno, "read %s", path);
  buf[n] = '\0';
  return 0;
}

static bool has_word(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n')) return true;
  return false;
}

/* Enables the controllers a container uses in every ancestor of dir that offers them. */
static int enable_controllers(const char *dir, struct kerr *err) {
  static const char *const wanted[] = {"memory", "pids", "cpu", NULL};
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s", dir);
  for (char *p = path + strlen("/sys/fs/cgroup"); p != NULL && *p != '\0'; p = strchr(p + 1, '/')) {
    char saved = *p;
    *p = '\0';
    char available[512], enabled[512];
    if (read_file(path, "cgroup.controllers", available, sizeof available, err) < 0) return -1;
    if (read_file(path, "cgroup.subtree_control", enabled, sizeof enabled, err) < 0) return -1;
    for (size_t i = 0; wanted[i] != NULL; i++) {
      if (!has_word(available, wanted[i]) || has_word(enabled, wanted[i])) continue;
      char value[32];
      snprintf(value, sizeof value, "+%s", wanted[i]);
      if (cgroup_write(path, "cgroup.subtree_control", value, err) < 0)
        return kerr_wrap(err, "enable controllers (the caller's cgroup must be delegated and hold no processes)");
    }
    *p = saved;
  }
  return 0;
}

static int apply(const struct cgroup *cg, const struct resources_spec *r, struct kerr *err) {
  const char *dir = cg->dirs[0];
  char v[64];
  if (r->memory_limit != -1) {
    snprintf(v, sizeof v, "%" PRId64, r->memory_limit);
    if (cgroup_write(dir, "memory.max", r->memory_limit < 0 ? "max" : v, err) < 0) return -1;
  }
  if (r->memory_swap != -1) {
    /* OCI swap is memory+swap; v2 limits swap alone */
    int64_t swap = r->memory_swap - (r->memory_limit > 0 ? r->memory_limit : 0);
    snprintf(v, sizeof v, "%" PRId64, swap);
    if (cgroup_write(dir, "memory.swap.max", v, err) < 0) return -1;
  }
  if (r->cpu_quota != -1 || r->cpu_period != 0) {
    char quota[24];
    if (r->cpu_quota < 0)
      snprintf(quota, sizeof quota, "max");
    else
      snprintf(quota, sizeof quota, "%" PRId64, r->cpu_quota);
    snprintf(v, sizeof v, "%s %" PRIu64, quota, r->cpu_period != 0 ? r->cpu_period : 100000);
    if (cgroup_write(dir, "cpu.max", v, err) < 0) return -1;
  }
  if (r->cpu_shares != 0) {
    /* the mapping runc and crun use: shares [2, 262144] onto weight [1, 10000] */
    uint64_t weight = 1 + ((r->cpu_shares - 2) * 9999) / 262142;
    snprintf(v, sizeof v, "%" PRIu64, weight);
    if (cgroup_write(dir, "cpu.weight", v, err) < 0) return -1;
  }
  if (r->pids_limit != 0) {
    if (r->pids_limit < 0)
      snprintf(v, sizeof v, "max");
    else
      snprintf(v, sizeof v, "%" PRId64, r->pids_limit);
    if (cgroup_write(dir, "pids.max", v, err) < 0) return -1;
  }
  return 0;
}

static int v2_create(struct cgroup *cg, const struct resources_spec *r, struct kerr *err) {
  if (cgroup_mkdir(cg, 0, err) < 0) goto fail;
  if (enable_controllers(cg->dirs[0], err) < 0) goto fail;
  if (apply(cg, r, err) < 0) goto fail;
  /* before any process is in the cgroup: device programs need no controller, so this holds on
   * any cgroup2 hierarchy */
  if (devices_attach_bpf(cg->dirs[0], r, err) < 0) goto fail;
  return 0;
fail: {
  struct kerr ignored;
  cgroup_destroy(cg, true, &ignored);
  return -1;
}
}

static int v2_enter(const struct cgroup *cg, pid_t pid, struct kerr *err) {
  char v[32];
  snprintf(v, sizeof v, "%d", (int)pid);
  return cgroup_write(cg->dirs[0], "cgroup.procs", v, err);
}

static int v2_oom_killed(const struct cgroup *cg, bool *out, struct kerr *err) {
  long long kills = 0;
  if (cgroup_read_key(cg->dirs[0], "memory.events", "oom_kill", &kills, err) < 0) return -1;
  *out = kills > 0;
  return 0;
}

const struct cgroup_ops cgroup_v2_ops = {
    .version = 2, .create = v2_create, .enter = v2_enter, .oom_killed = v2_oom_killed};
