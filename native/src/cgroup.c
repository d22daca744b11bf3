/* Placement of container cgroups and the parts common to v1 and v2: path resolution beneath the
 * caller's own cgroup, directory creation with rollback, removal, and small file helpers. */
#define _GNU_SOURCE
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CGROUP_ROOT "/sys/fs/cgroup"

/* Controllers a container joins on v1; others (cpuset, net_cls, ...) are left to the caller's. */
static const char *const v1_wanted[] = {"memory", "cpu", "cpuacct", "pids", "devices", "freezer", "blkio", NULL};

int cgroup_write(const char *dir, const char *file, const char *value, struct kerr *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return kerr_set(err, errno, "open %s", path);
  size_t len = strlen(value);
  if (write(fd, value, len) != (ssize_t)len) return kerr_set(err, errno, "write \"%s\" to %s", value, path);
  return 0;
}

int cgroup_read_key(const char *dir, const char *file, const char *key, long long *out, struct kerr *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  _cleanup_file_ FILE *f = fopen(path, "re");
  if (f == NULL) return kerr_set(err, errno, "open %s", path);
  char name[128];
  long long v;
  *out = 0;
  while (fscanf(f, "%127s %lld", name, &v) == 2)
    if (strcmp(name, key) == 0) {
      *out = v;
      return 0;
    }
  return 0;
}

/* Normalizes a path into "/a/b" form; ".." and "." components are refused. */
static int normalize(const char *in, char *out, size_t len, struct kerr *err) {
  size_t o = 0;
  const char *p = in;
  out[0] = '\0';
  while (*p != '\0') {
    while (*p == '/') p++;
    const char *end = strchrnul(p, '/');
    size_t n = (size_t)(end - p);
    if (n == 0) break;
    if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
      return kerr_set(err, 0, "linux.cgroupsPath: \"%s\" must not contain \".\" or \"..\"", in);
    if (o + n + 2 > len) return kerr_set(err, ENAMETOOLONG, "linux.cgroupsPath: \"%s\"", in);
    out[o++] = '/';
    memcpy(out + o, p, n);
    o += n;
    out[o] = '\0';
    p = end;
  }
  if (o == 0) strcpy(out, "/");
  return 0;
}

static int depth(const char *path) {
  int d = 0;
  for (const char *p = path; *p != '\0'; p++)
    if (*p == '/' && p[1] != '\0') d++;
  return d;
}

/* Joins mount point + own cgroup (if relative) + path into out->dirs[out->n]. */
static int add_dir(struct cgroup *cg, const char *mountpoint, const char *own, const char *path, const char *ctrls,
                   bool allow_root, struct kerr *err) {
  char joined[PATH_MAX], norm[PATH_MAX];
  if (path[0] == '/')
    snprintf(joined, sizeof joined, "%s", path);
  else
    snprintf(joined, sizeof joined, "%s/%s", own, path);
  if (normalize(joined, norm, sizeof norm, err) < 0) return -1;
  if (!allow_root && depth(norm) < 2)
    return kerr_set(err, 0,
                    "linux.cgroupsPath: \"%s\" resolves to %s%s, at the root of the hierarchy "
                    "(use a path beneath the caller's cgroup, or --allow-root-cgroup)",
                    path, mountpoint, norm);
  if (cg->n == CGROUP_MAX_DIRS) return kerr_set(err, E2BIG, "too many cgroup hierarchies");
  if (asprintf(&cg->dirs[cg->n], "%s%s", mountpoint, strcmp(norm, "/") == 0 ? "" : norm) < 0 ||
      (cg->controllers[cg->n] = strdup(ctrls)) == NULL)
    return kerr_set(err, ENOMEM, "cgroup path");
  cg->n++;
  return 0;
}

static bool wanted_v1(const char *ctrls) {
  _cleanup_free_ char *copy = strdup(ctrls);
  if (copy == NULL) return false;
  char *save = NULL;
  for (char *c = strtok_r(copy, ",", &save); c != NULL; c = strtok_r(NULL, ",", &save))
    for (size_t i = 0; v1_wanted[i] != NULL; i++)
      if (strcmp(c, v1_wanted[i]) == 0) return true;
  return false;
}

/* Finds the mount point of the v1 hierarchy holding exactly these controllers. */
static int v1_mountpoint(const char *ctrls, char *out, size_t len, struct kerr *err) {
  _cleanup_file_ FILE *f = fopen("/proc/self/mountinfo", "re");
  if (f == NULL) return kerr_set(err, errno, "open /proc/self/mountinfo");
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    char root[PATH_MAX], mnt[PATH_MAX];
    if (sscanf(line, "%*d %*d %*s %4095s %4095s", root, mnt) != 2) continue;
    char *sep = strstr(line, " - ");
    if (sep == NULL) continue;
    char fstype[64], source[256], opts[1024];
    if (sscanf(sep + 3, "%63s %255s %1023s", fstype, source, opts) != 3 || strcmp(fstype, "cgroup") != 0) continue;
    if (strcmp(root, "/") != 0) continue;
    /* every controller of ctrls must be among the super options */
    _cleanup_free_ char *copy = strdup(ctrls);
    if (copy == NULL) return kerr_set(err, ENOMEM, "mountinfo");
    bool all = true;
    char *save = NULL;
    for (char *c = strtok_r(copy, ",", &save); c != NULL && all; c = strtok_r(NULL, ",", &save)) {
      bool found = false;
      char *s2 = NULL;
      char optcopy[1024];
      snprintf(optcopy, sizeof optcopy, "%s", opts);
      for (char *o = strtok_r(optcopy, ",", &s2); o != NULL; o = strtok_r(NULL, ",", &s2))
        if (strcmp(o, c) == 0) found = true;
      all = found;
    }
    if (all) {
      snprintf(out, len, "%s", mnt);
      return 0;
    }
  }
  return kerr_set(err, ENOENT, "no mount of the v1 cgroup hierarchy \"%s\" in /proc/self/mountinfo", ctrls);
}

int cgroup_resolve(const char *cgroups_path, const char *id, bool allow_root, struct cgroup *out, struct kerr *err) {
  struct statfs sfs;
  char fallback[PATH_MAX];
  memset(out, 0, sizeof *out);
  if (cgroups_path == NULL || cgroups_path[0] == '\0') {
    snprintf(fallback, sizeof fallback, "kshim/%s", id);
    cgroups_path = fallback;
  }
  if (strchr(cgroups_path, ':') != NULL)
    return kerr_set(err, 0, "linux.cgroupsPath: \"%s\": systemd slice syntax is not supported", cgroups_path);
  if (statfs(CGROUP_ROOT, &sfs) < 0) return kerr_set(err, errno, "statfs " CGROUP_ROOT);
  bool v2 = sfs.f_type == CGROUP2_SUPER_MAGIC;
  out->ops = v2 ? &cgroup_v2_ops : &cgroup_v1_ops;
  _cleanup_file_ FILE *f = fopen("/proc/self/cgroup", "re");
  if (f == NULL) return kerr_set(err, errno, "open /proc/self/cgroup");
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] == '\n') line[n - 1] = '\0';
    char *c1 = strchr(line, ':');
    char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
    if (c2 == NULL) continue;
    *c1 = *c2 = '\0';
    const char *ctrls = c1 + 1, *own = c2 + 1;
    if (v2) {
      if (strcmp(line, "0") != 0 || ctrls[0] != '\0') continue;
      if (add_dir(out, CGROUP_ROOT, own, cgroups_path, "", allow_root, err) < 0) goto fail;
      return 0;
    }
    if (ctrls[0] == '\0' || strncmp(ctrls, "name=", 5) == 0 || !wanted_v1(ctrls)) continue;
    char mnt[PATH_MAX];
    if (v1_mountpoint(ctrls, mnt, sizeof mnt, err) < 0) goto fail;
    if (add_dir(out, mnt, own, cgroups_path, ctrls, allow_root, err) < 0) goto fail;
  }
  if (out->n == 0) {
    kerr_set(err, ENOENT, "no cgroup hierarchy for this process in /proc/self/cgroup");
    goto fail;
  }
  return 0;
fail:
  cgroup_release(out);
  return -1;
}

int cgroup_from_dirs(int version, char *const *dirs, size_t n, struct cgroup *out, struct kerr *err) {
  memset(out, 0, sizeof *out);
  out->ops = version == 2 ? &cgroup_v2_ops : &cgroup_v1_ops;
  if (n > CGROUP_MAX_DIRS) return kerr_set(err, E2BIG, "too many cgroup dirs in state");
  for (size_t i = 0; i < n; i++) {
    const char *base = strrchr(dirs[i], '/');
    out->dirs[i] = strdup(dirs[i]);
    /* the v1 hierarchy is the directory under /sys/fs/cgroup */
    const char *rest = strncmp(dirs[i], CGROUP_ROOT "/", sizeof CGROUP_ROOT) == 0 ? dirs[i] + sizeof CGROUP_ROOT : "";
    out->controllers[i] = strndup(rest, strcspn(rest, "/"));
    out->n = i + 1;
    if (out->dirs[i] == NULL || out->controllers[i] == NULL || base == NULL) {
      cgroup_release(out);
      return kerr_set(err, ENOMEM, "cgroup dirs");
    }
  }
  return 0;
}

int cgroup_mkdir(struct cgroup *cg, size_t i, struct kerr *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s", cg->dirs[i]);
  /* walk down from the mount point: every component that does not exist yet is made (and owned) */
  for (char *p = path + strlen(CGROUP_ROOT) + 1; *p != '\0'; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(path, 0755) == 0) {
      if (cg->top_created[i] == NULL && (cg->top_created[i] = strdup(path)) == NULL)
        return kerr_set(err, ENOMEM, "cgroup path");
    } else if (errno != EEXIST) {
      int e = errno;
      *p = '/';
      return kerr_set(err, e, "mkdir cgroup %.*s", (int)(p - path), path);
    }
    *p = '/';
  }
  if (mkdir(path, 0755) < 0) return kerr_set(err, errno, "mkdir cgroup %s", path);
  if (cg->top_created[i] == NULL && (cg->top_created[i] = strdup(path)) == NULL)
    return kerr_set(err, ENOMEM, "cgroup path");
  return 0;
}

static int rmdir_patient(const char *dir, struct kerr *err) {
  /* Tasks of a killed container leave the cgroup asynchronously; EBUSY lasts a few ms. */
  for (int attempt = 0;; attempt++) {
    if (rmdir(dir) == 0 || errno == ENOENT) return 0;
    if (errno != EBUSY || attempt == 500) return kerr_set(err, errno, "rmdir cgroup %s", dir);
    nanosleep(&(struct timespec){.tv_nsec = 2 * 1000 * 1000}, NULL);
  }
}

int cgroup_destroy(struct cgroup *cg, bool with_parents, struct kerr *err) {
  int rc = 0;
  for (size_t i = 0; i < cg->n; i++) {
    struct kerr e;
    if (rmdir_patient(cg->dirs[i], &e) < 0) {
      if (rc == 0) *err = e;
      rc = -1;
      continue;
    }
    if (!with_parents || cg->top_created[i] == NULL) continue;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", cg->dirs[i]);
    size_t top = strlen(cg->top_created[i]);
    for (char *slash = strrchr(path, '/'); slash != NULL && (size_t)(slash - path) >= top; slash = strrchr(path, '/')) {
      *slash = '\0';
      if (rmdir(path) < 0 && errno != ENOENT) break;
    }
  }
  return rc;
}

void cgroup_release(struct cgroup *cg) {
  for (size_t i = 0; i < cg->n; i++) {
    free(cg->dirs[i]);
    free(cg->controllers[i]);
    free(cg->top_created[i]);
  }
  memset(cg, 0, sizeof *cg);
}
