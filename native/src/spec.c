/* config.json parsing and validation (jansson). Every field outside the supported subset that
 * could weaken isolation is refused with its field path; purely cosmetic ones (consoleSize) are
 * accepted and ignored. */
#define _GNU_SOURCE
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <unistd.h>

#include "cleanup.h"
#include "json-util.h"

#define CFG "config.json"

static int get_string(json_t *obj, const char *key, const char *path, bool required, const char **out,
                      struct kerr *err) {
  json_t *v;
  if (json_util_member(obj, key, path, JSON_STRING, required, &v, err) < 0) return -1;
  *out = v != NULL ? json_string_value(v) : NULL;
  return 0;
}

static int get_bool(json_t *obj, const char *key, const char *path, bool *out, struct kerr *err) {
  json_t *v;
  if (json_util_member(obj, key, path, JSON_TRUE, false, &v, err) < 0) return -1;
  *out = v != NULL && json_is_true(v);
  return 0;
}

static int get_int(json_t *obj, const char *key, const char *path, long long min, long long max, bool *present,
                   long long *out, struct kerr *err) {
  json_t *v;
  if (json_util_member(obj, key, path, JSON_INTEGER, false, &v, err) < 0) return -1;
  *present = v != NULL;
  if (v == NULL) return 0;
  *out = json_integer_value(v);
  if (*out < min || *out > max)
    return kerr_set(err, 0, CFG ": %s.%s: %lld is out of range [%lld, %lld]", path, key, *out, min, max);
  return 0;
}

/* A string array, NULL-terminated, strings borrowed from the tree. */
static int get_strings(json_t *obj, const char *key, const char *path, bool required, const char ***out,
                       size_t *count, struct kerr *err) {
  json_t *arr;
  *out = NULL;
  if (count != NULL) *count = 0;
  if (json_util_member(obj, key, path, JSON_ARRAY, required, &arr, err) < 0) return -1;
  size_t n = arr != NULL ? json_array_size(arr) : 0;
  const char **list = calloc(n + 1, sizeof *list);
  if (list == NULL) return kerr_set(err, errno, "allocate %s.%s", path, key);
  for (size_t i = 0; i < n; i++) {
    json_t *item = json_array_get(arr, i);
    if (!json_is_string(item)) {
      free(list);
      return kerr_set(err, 0, CFG ": %s.%s[%zu]: must be a string", path, key, i);
    }
    list[i] = json_string_value(item);
  }
  *out = list;
  if (count != NULL) *count = n;
  return 0;
}

/* An array that this runtime does not support unless it is empty. */
static int refuse_nonempty(json_t *obj, const char *key, const char *path, const char *why, struct kerr *err) {
  json_t *v = json_object_get(obj, key);
  if (v == NULL || json_is_null(v)) return 0;
  bool empty = (json_is_array(v) && json_array_size(v) == 0) || (json_is_object(v) && json_object_size(v) == 0) ||
               (json_is_string(v) && json_string_length(v) == 0);
  if (!empty) return kerr_set(err, 0, CFG ": %s.%s: not supported (%s)", path, key, why);
  return 0;
}

int spec_cap_from_name(const char *name) {
  char lower[64];
  size_t n = strlen(name);
  if (n == 0 || n >= sizeof lower) return -1;
  for (size_t i = 0; i <= n; i++) lower[i] = (char)tolower((unsigned char)name[i]);
  cap_value_t cap;
  if (cap_from_name(lower, &cap) != 0 || strncmp(lower, "cap_", 4) != 0 || cap < 0 || cap >= 64) return -1;
  return cap;
}

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

static int parse_caps(json_t *caps, struct process_spec *p, struct kerr *err) {
  static const char *const sets[] = {"bounding", "effective", "inheritable", "permitted", "ambient", NULL};
  if (json_util_check_keys(caps, "process.capabilities", sets, err) < 0) return -1;
  p->has_caps = true;
  for (int s = 0; s < CAPS_NSETS; s++) {
    _cleanup_free_ const char **names = NULL;
    size_t n;
    if (get_strings(caps, sets[s], "process.capabilities", false, &names, &n, err) < 0) return -1;
    for (size_t i = 0; i < n; i++) {
      int cap = spec_cap_from_name(names[i]);
      if (cap < 0) return kerr_set(err, 0, CFG ": process.capabilities.%s[%zu]: unknown capability \"%s\"", sets[s], i, names[i]);
      p->caps[s] |= 1ULL << cap;
    }
  }
  return 0;
}

static int parse_rlimits(json_t *arr, struct process_spec *p, struct kerr *err) {
  static const char *const keys[] = {"type", "soft", "hard", NULL};
  size_t n = json_array_size(arr);
  p->rlimits = calloc(n, sizeof *p->rlimits);
  if (n > 0 && p->rlimits == NULL) return kerr_set(err, errno, "allocate rlimits");
  for (size_t i = 0; i < n; i++) {
    char path[64];
    snprintf(path, sizeof path, "process.rlimits[%zu]", i);
    json_t *r = json_array_get(arr, i);
    if (!json_is_object(r)) return kerr_set(err, 0, CFG ": %s: must be an object", path);
    if (json_util_check_keys(r, path, keys, err) < 0) return -1;
    const char *type;
    if (get_string(r, "type", path, true, &type, err) < 0) return -1;
    int resource = -1;
    for (size_t k = 0; k < sizeof rlimit_names / sizeof rlimit_names[0]; k++)
      if (strcmp(type, rlimit_names[k].name) == 0) resource = rlimit_names[k].resource;
    if (resource < 0) return kerr_set(err, 0, CFG ": %s.type: unknown rlimit \"%s\"", path, type);
    bool has_soft, has_hard;
    long long soft, hard;
    if (get_int(r, "soft", path, 0, LLONG_MAX, &has_soft, &soft, err) < 0) return -1;
    if (get_int(r, "hard", path, 0, LLONG_MAX, &has_hard, &hard, err) < 0) return -1;
    if (!has_soft || !has_hard) return kerr_set(err, 0, CFG ": %s: soft and hard are required", path);
    if (soft > hard) return kerr_set(err, 0, CFG ": %s: soft %lld exceeds hard %lld", path, soft, hard);
    p->rlimits[i].resource = resource;
    p->rlimits[i].value.rlim_cur = (rlim_t)soft;
    p->rlimits[i].value.rlim_max = (rlim_t)hard;
  }
  p->n_rlimits = n;
  return 0;
}

void process_spec_free(struct process_spec *p) {
  free(p->args);
  free(p->env);
  free(p->additional_gids);
  free(p->rlimits);
  memset(p, 0, sizeof *p);
}

int spec_parse_process(json_t *proc, struct process_spec *p, struct kerr *err) {
  static const char *const keys[] = {"terminal", "consoleSize", "user", "args", "env", "cwd", "capabilities",
                                     "rlimits", "noNewPrivileges", "oomScoreAdj", "apparmorProfile",
                                     "selinuxLabel", NULL};
  static const char *const user_keys[] = {"uid", "gid", "additionalGids", NULL};
  memset(p, 0, sizeof *p);
  if (json_util_check_keys(proc, "process", keys, err) < 0) return -1;
  bool terminal;
  if (get_bool(proc, "terminal", "process", &terminal, err) < 0) return -1;
  if (terminal) return kerr_set(err, 0, CFG ": process.terminal: true is not supported (no console)");
  if (refuse_nonempty(proc, "apparmorProfile", "process", "no AppArmor support", err) < 0) return -1;
  if (refuse_nonempty(proc, "selinuxLabel", "process", "no SELinux support", err) < 0) return -1;
  size_t nargs;
  if (get_strings(proc, "args", "process", true, &p->args, &nargs, err) < 0) return -1;
  if (nargs == 0) return kerr_set(err, 0, CFG ": process.args: must not be empty");
  if (get_strings(proc, "env", "process", false, &p->env, NULL, err) < 0) return -1;
  for (size_t i = 0; p->env[i] != NULL; i++)
    if (strchr(p->env[i], '=') == NULL) return kerr_set(err, 0, CFG ": process.env[%zu]: \"%s\" is not KEY=VALUE", i, p->env[i]);
  if (get_string(proc, "cwd", "process", true, &p->cwd, err) < 0) return -1;
  if (p->cwd[0] != '/') return kerr_set(err, 0, CFG ": process.cwd: \"%s\" must be absolute", p->cwd);

  json_t *user;
  if (json_util_member(proc, "user", "process", JSON_OBJECT, false, &user, err) < 0) return -1;
  if (user != NULL) {
    if (json_util_check_keys(user, "process.user", user_keys, err) < 0) return -1;
    bool has;
    long long v;
    if (get_int(user, "uid", "process.user", 0, UINT32_MAX - 1, &has, &v, err) < 0) return -1;
    p->uid = has ? (uid_t)v : 0;
    if (get_int(user, "gid", "process.user", 0, UINT32_MAX - 1, &has, &v, err) < 0) return -1;
    p->gid = has ? (gid_t)v : 0;
    json_t *gids;
    if (json_util_member(user, "additionalGids", "process.user", JSON_ARRAY, false, &gids, err) < 0) return -1;
    size_t n = gids != NULL ? json_array_size(gids) : 0;
    p->additional_gids = calloc(n + 1, sizeof(gid_t));
    if (p->additional_gids == NULL) return kerr_set(err, errno, "allocate additionalGids");
    for (size_t i = 0; i < n; i++) {
      json_t *g = json_array_get(gids, i);
      if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) >= UINT32_MAX)
        return kerr_set(err, 0, CFG ": process.user.additionalGids[%zu]: must be a gid", i);
      p->additional_gids[i] = (gid_t)json_integer_value(g);
    }
    p->n_additional_gids = n;
  }
  json_t *caps;
  if (json_util_member(proc, "capabilities", "process", JSON_OBJECT, false, &caps, err) < 0) return -1;
  if (caps != NULL && parse_caps(caps, p, err) < 0) return -1;
  json_t *rlimits;
  if (json_util_member(proc, "rlimits", "process", JSON_ARRAY, false, &rlimits, err) < 0) return -1;
  if (rlimits != NULL && parse_rlimits(rlimits, p, err) < 0) return -1;
  if (get_bool(proc, "noNewPrivileges", "process", &p->no_new_privileges, err) < 0) return -1;
  long long adj;
  if (get_int(proc, "oomScoreAdj", "process", -1000, 1000, &p->has_oom_score_adj, &adj, err) < 0) return -1;
  p->oom_score_adj = (int)adj;
  return 0;
}

static const struct {
  const char *name;
  bool clear;
  unsigned long flag;
} mount_flags[] = {
    {"ro", false, MS_RDONLY},        {"rw", true, MS_RDONLY},          {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},       {"nodev", false, MS_NODEV},       {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},    {"exec", true, MS_NOEXEC},        {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME}, {"strictatime", false, MS_STRICTATIME}, {"noatime", false, MS_NOATIME},
    {"nodiratime", false, MS_NODIRATIME}, {"sync", false, MS_SYNCHRONOUS}, {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},  {"mand", false, MS_MANDLOCK},     {"nomand", true, MS_MANDLOCK},
};

static const struct {
  const char *name;
  unsigned long flag;
} propagation_flags[] = {
    {"private", MS_PRIVATE}, {"rprivate", MS_PRIVATE | MS_REC}, {"slave", MS_SLAVE},
    {"rslave", MS_SLAVE | MS_REC}, {"shared", MS_SHARED}, {"rshared", MS_SHARED | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static int parse_propagation(const char *name, unsigned long *out) {
  for (size_t k = 0; k < sizeof propagation_flags / sizeof propagation_flags[0]; k++)
    if (strcmp(name, propagation_flags[k].name) == 0) {
      *out = propagation_flags[k].flag;
      return 0;
    }
  return -1;
}

static int append_data(char **data, const char *opt, struct kerr *err) {
  size_t old = *data != NULL ? strlen(*data) : 0;
  char *grown = realloc(*data, old + strlen(opt) + 2);
  if (grown == NULL) return kerr_set(err, errno, "allocate mount data");
  if (old > 0) grown[old++] = ',';
  strcpy(grown + old, opt);
  *data = grown;
  return 0;
}

static int parse_mount(json_t *m, const char *path, struct mount_spec *out, struct kerr *err) {
  static const char *const keys[] = {"destination", "type", "source", "options", NULL};
  static const char *const types[] = {"proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "bind", "none", NULL};
  if (!json_is_object(m)) return kerr_set(err, 0, CFG ": %s: must be an object", path);
  if (json_util_check_keys(m, path, keys, err) < 0) return -1;
  if (get_string(m, "destination", path, true, &out->destination, err) < 0) return -1;
  if (out->destination[0] != '/')
    return kerr_set(err, 0, CFG ": %s.destination: \"%s\" must be absolute", path, out->destination);
  if (strstr(out->destination, "..") != NULL)
    return kerr_set(err, 0, CFG ": %s.destination: \"%s\" must not contain \"..\"", path, out->destination);
  if (get_string(m, "type", path, false, &out->type, err) < 0) return -1;
  if (get_string(m, "source", path, false, &out->source, err) < 0) return -1;
  _cleanup_free_ const char **options = NULL;
  size_t n;
  if (get_strings(m, "options", path, false, &options, &n, err) < 0) return -1;
  for (size_t i = 0; i < n; i++) {
    const char *o = options[i];
    bool known = false;
    if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
      out->bind = true;
      out->recursive = o[0] == 'r';
      continue;
    }
    if (strcmp(o, "idmap") == 0) {
      out->idmap = true;
      continue;
    }
    if (strcmp(o, "remount") == 0 || strcmp(o, "move") == 0)
      return kerr_set(err, 0, CFG ": %s.options[%zu]: \"%s\" is not supported", path, i, o);
    if (parse_propagation(o, &out->propagation) == 0) continue;
    for (size_t k = 0; k < sizeof mount_flags / sizeof mount_flags[0]; k++) {
      if (strcmp(o, mount_flags[k].name) != 0) continue;
      known = true;
      if (mount_flags[k].clear)
        out->flags &= ~mount_flags[k].flag;
      else
        out->flags |= mount_flags[k].flag;
    }
    if (!known && append_data(&out->data, o, err) < 0) return -1;
  }
  const char *type = out->type != NULL ? out->type : "none";
  if (!json_util_in_list(type, types))
    return kerr_set(err, 0, CFG ": %s.type: \"%s\" is not supported (proc, sysfs, tmpfs, devpts, mqueue, cgroup, bind)", path, type);
  if (strcmp(type, "cgroup") == 0 && (out->bind || out->data != NULL))
    return kerr_set(err, 0, CFG ": %s.options: a cgroup mount takes only flags (ro, nosuid, ...), not \"%s\"", path,
                    out->bind ? "bind" : out->data);
  if ((strcmp(type, "bind") == 0 || strcmp(type, "none") == 0) && !out->bind)
    return kerr_set(err, 0, CFG ": %s: type \"%s\" needs the bind or rbind option", path, type);
  if (out->bind) {
    if (out->source == NULL || out->source[0] != '/')
      return kerr_set(err, 0, CFG ": %s.source: a bind mount needs an absolute source", path);
    if (out->data != NULL)
      return kerr_set(err, 0, CFG ": %s.options: \"%s\" is not a bind mount option", path, out->data);
    out->readonly = (out->flags & MS_RDONLY) != 0;
    out->flags &= ~MS_RDONLY;
  } else if (out->idmap) {
    return kerr_set(err, 0, CFG ": %s.options: idmap is for bind mounts", path);
  }
  return 0;
}

static int parse_namespaces(json_t *arr, struct spec *s, struct kerr *err) {
  static const char *const keys[] = {"type", "path", NULL};
  static const struct {
    const char *name;
    int flag;
  } kinds[] = {{"pid", CLONE_NEWPID}, {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
               {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},     {"cgroup", CLONE_NEWCGROUP},
               {"user", CLONE_NEWUSER}};
  size_t n = json_array_size(arr);
  for (size_t i = 0; i < n; i++) {
    char path[64];
    snprintf(path, sizeof path, "linux.namespaces[%zu]", i);
    json_t *ns = json_array_get(arr, i);
    if (!json_is_object(ns)) return kerr_set(err, 0, CFG ": %s: must be an object", path);
    if (json_util_check_keys(ns, path, keys, err) < 0) return -1;
    const char *type, *nspath;
    if (get_string(ns, "type", path, true, &type, err) < 0) return -1;
    if (get_string(ns, "path", path, false, &nspath, err) < 0) return -1;
    if (nspath != NULL && nspath[0] == '\0') nspath = NULL;
    int flag = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
      if (strcmp(type, kinds[k].name) == 0) flag = kinds[k].flag;
    if (flag == 0)
      return kerr_set(err, 0, CFG ": %s.type: \"%s\" is not supported (pid, network, mount, ipc, uts, cgroup, user)", path, type);
    if (spec_namespace(s, flag) != NULL) return kerr_set(err, 0, CFG ": %s.type: \"%s\" appears twice", path, type);
    if (nspath != NULL && (flag == CLONE_NEWNS || flag == CLONE_NEWCGROUP || flag == CLONE_NEWUSER))
      return kerr_set(err, 0, CFG ": %s.path: joining an existing %s namespace is not supported", path, type);
    if (nspath != NULL && nspath[0] != '/')
      return kerr_set(err, 0, CFG ": %s.path: \"%s\" must be absolute", path, nspath);
    s->namespaces[s->n_namespaces].flag = flag;
    s->namespaces[s->n_namespaces].path = nspath;
    s->n_namespaces++;
    if (nspath == NULL) s->clone_flags |= flag;
  }
  if (spec_namespace(s, CLONE_NEWNS) == NULL)
    return kerr_set(err, 0, CFG ": linux.namespaces: a mount namespace is required (the rootfs is pivoted into)");
  return 0;
}

/* "major"/"minor": absent, null or -1 is any (OCI), otherwise a number a dev_t can hold (12-bit
 * major, 20-bit minor). */
static int parse_device_number(json_t *rule, const char *key, const char *path, int64_t max, int64_t *out,
                               struct kerr *err) {
  json_t *v = json_object_get(rule, key);
  *out = -1;
  if (v == NULL || json_is_null(v)) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > max)
    return kerr_set(err, 0, CFG ": %s.%s: must be a device number up to %lld or -1 (any)", path, key, (long long)max);
  *out = json_integer_value(v);
  return 0;
}

static int parse_device_rules(json_t *arr, struct resources_spec *r, struct kerr *err) {
  static const char *const keys[] = {"allow", "type", "major", "minor", "access", NULL};
  size_t n = json_array_size(arr);
  r->devices = calloc(n + 1, sizeof *r->devices);
  if (r->devices == NULL) return kerr_set(err, errno, "allocate linux.resources.devices");
  for (size_t i = 0; i < n; i++) {
    char path[64];
    snprintf(path, sizeof path, "linux.resources.devices[%zu]", i);
    json_t *rule = json_array_get(arr, i);
    struct device_rule *d = &r->devices[i];
    if (!json_is_object(rule)) return kerr_set(err, 0, CFG ": %s: must be an object", path);
    if (json_util_check_keys(rule, path, keys, err) < 0) return -1;
    json_t *allow;
    if (json_util_member(rule, "allow", path, JSON_TRUE, true, &allow, err) < 0) return -1;
    d->allow = json_is_true(allow);
    const char *type, *access;
    if (get_string(rule, "type", path, false, &type, err) < 0) return -1;
    d->type = type == NULL ? 'a' : type[0];
    if (type != NULL && (strlen(type) != 1 || strchr("abc", type[0]) == NULL))
      return kerr_set(err, 0, CFG ": %s.type: \"%s\" is not a, b or c", path, type);
    if (parse_device_number(rule, "major", path, 4095, &d->major, err) < 0) return -1;
    if (parse_device_number(rule, "minor", path, 1048575, &d->minor, err) < 0) return -1;
    if (d->type == 'a' && (d->major != -1 || d->minor != -1))
      return kerr_set(err, 0, CFG ": %s: type \"a\" (all devices) takes no major or minor", path);
    if (get_string(rule, "access", path, false, &access, err) < 0) return -1;
    d->access = access == NULL || access[0] == '\0' ? DEVICE_ACCESS_ALL : 0;
    for (const char *c = access; c != NULL && *c != '\0'; c++) {
      unsigned bit = *c == 'r' ? DEVICE_ACCESS_READ : *c == 'w' ? DEVICE_ACCESS_WRITE : *c == 'm' ? DEVICE_ACCESS_MKNOD : 0;
      if (bit == 0) return kerr_set(err, 0, CFG ": %s.access: \"%s\" is not made of r, w and m", path, access);
      d->access |= bit;
    }
    r->n_devices = i + 1;
  }
  return 0;
}

static int parse_resources(json_t *res, struct spec *s, struct kerr *err) {
  static const char *const keys[] = {"memory", "cpu", "pids", "devices", NULL};
  static const char *const mem_keys[] = {"limit", "swap", NULL};
  static const char *const cpu_keys[] = {"quota", "period", "shares", NULL};
  static const char *const pid_keys[] = {"limit", NULL};
  struct resources_spec *r = &s->resources;
  if (json_util_check_keys(res, "linux.resources", keys, err) < 0) return -1;
  json_t *devices;
  if (json_util_member(res, "devices", "linux.resources", JSON_ARRAY, false, &devices, err) < 0) return -1;
  if (devices != NULL && parse_device_rules(devices, r, err) < 0) return -1;
  json_t *mem, *cpu, *pids;
  bool has;
  long long v;
  if (json_util_member(res, "memory", "linux.resources", JSON_OBJECT, false, &mem, err) < 0) return -1;
  if (mem != NULL) {
    if (json_util_check_keys(mem, "linux.resources.memory", mem_keys, err) < 0) return -1;
    if (get_int(mem, "limit", "linux.resources.memory", -1, INT64_MAX, &has, &v, err) < 0) return -1;
    if (has && v >= 0 && v < 4096 * 64)
      return kerr_set(err, 0, CFG ": linux.resources.memory.limit: %lld bytes is too small (min 262144)", v);
    if (has) r->memory_limit = v;
    if (get_int(mem, "swap", "linux.resources.memory", -1, INT64_MAX, &has, &v, err) < 0) return -1;
    if (has) r->memory_swap = v;
    if (has && v >= 0 && (r->memory_limit < 0 || v < r->memory_limit))
      return kerr_set(err, 0, CFG ": linux.resources.memory.swap: must be at least memory.limit (it is memory+swap)");
  }
  if (json_util_member(res, "cpu", "linux.resources", JSON_OBJECT, false, &cpu, err) < 0) return -1;
  if (cpu != NULL) {
    if (json_util_check_keys(cpu, "linux.resources.cpu", cpu_keys, err) < 0) return -1;
    if (get_int(cpu, "quota", "linux.resources.cpu", -1, INT64_MAX, &has, &v, err) < 0) return -1;
    if (has && v >= 0 && v < 1000) return kerr_set(err, 0, CFG ": linux.resources.cpu.quota: %lld is below 1000 us", v);
    if (has) r->cpu_quota = v;
    if (get_int(cpu, "period", "linux.resources.cpu", 1000, 1000000, &has, &v, err) < 0) return -1;
    if (has) r->cpu_period = (uint64_t)v;
    if (get_int(cpu, "shares", "linux.resources.cpu", 2, 262144, &has, &v, err) < 0) return -1;
    if (has) r->cpu_shares = (uint64_t)v;
  }
  if (json_util_member(res, "pids", "linux.resources", JSON_OBJECT, false, &pids, err) < 0) return -1;
  if (pids != NULL) {
    if (json_util_check_keys(pids, "linux.resources.pids", pid_keys, err) < 0) return -1;
    if (get_int(pids, "limit", "linux.resources.pids", -1, INT32_MAX, &has, &v, err) < 0) return -1;
    if (has && v == 0) return kerr_set(err, 0, CFG ": linux.resources.pids.limit: 0 would forbid the init process");
    if (has) r->pids_limit = v;
  }
  return 0;
}

static int parse_id_mapping_list(json_t *lx, const char *key, struct id_mapping **out, size_t *count,
                                 struct kerr *err) {
  static const char *const keys[] = {"containerID", "hostID", "size", NULL};
  json_t *arr;
  if (json_util_member(lx, key, "linux", JSON_ARRAY, false, &arr, err) < 0) return -1;
  size_t n = arr != NULL ? json_array_size(arr) : 0;
  /* the kernel takes at most 340 lines per map */
  if (n > 340) return kerr_set(err, 0, CFG ": linux.%s: %zu lines, the kernel takes at most 340", key, n);
  *out = calloc(n + 1, sizeof **out);
  if (*out == NULL) return kerr_set(err, errno, "allocate linux.%s", key);
  for (size_t i = 0; i < n; i++) {
    char path[64];
    snprintf(path, sizeof path, "linux.%s[%zu]", key, i);
    json_t *m = json_array_get(arr, i);
    if (!json_is_object(m)) return kerr_set(err, 0, CFG ": %s: must be an object", path);
    if (json_util_check_keys(m, path, keys, err) < 0) return -1;
    long long v[3];
    for (int k = 0; k < 3; k++) {
      bool has;
      if (get_int(m, keys[k], path, k == 2 ? 1 : 0, UINT32_MAX - 1, &has, &v[k], err) < 0) return -1;
      if (!has) return kerr_set(err, 0, CFG ": %s.%s: required", path, keys[k]);
    }
    if (v[0] + v[2] > UINT32_MAX || v[1] + v[2] > UINT32_MAX)
      return kerr_set(err, 0, CFG ": %s: the range runs past the last id", path);
    (*out)[i] = (struct id_mapping){.container_id = (uint32_t)v[0], .host_id = (uint32_t)v[1], .size = (uint32_t)v[2]};
  }
  *count = n;
  return 0;
}

/* Mappings go with a new user namespace and it needs both: an unmapped uid or gid would leave the
 * init without an identity in it. */
static int parse_id_mappings(json_t *lx, struct spec *s, struct kerr *err) {
  if (parse_id_mapping_list(lx, "uidMappings", &s->uid_mappings, &s->n_uid_mappings, err) < 0) return -1;
  if (parse_id_mapping_list(lx, "gidMappings", &s->gid_mappings, &s->n_gid_mappings, err) < 0) return -1;
  bool userns = (s->clone_flags & CLONE_NEWUSER) != 0;
  if (!userns && (s->n_uid_mappings > 0 || s->n_gid_mappings > 0))
    return kerr_set(err, 0, CFG ": linux.uidMappings: mappings need a new user namespace in linux.namespaces");
  if (userns && (s->n_uid_mappings == 0 || s->n_gid_mappings == 0))
    return kerr_set(err, 0, CFG ": linux.%s: a user namespace needs uid and gid mappings",
                    s->n_uid_mappings == 0 ? "uidMappings" : "gidMappings");
  return 0;
}

static int parse_linux(json_t *lx, struct spec *s, struct kerr *err) {
  static const char *const keys[] = {"namespaces", "resources", "cgroupsPath", "maskedPaths", "readonlyPaths",
                                     "rootfsPropagation", "uidMappings", "gidMappings", "sysctl", "devices",
                                     "mountLabel", "seccomp", NULL};
  if (json_util_check_keys(lx, "linux", keys, err) < 0) return -1;
  if (refuse_nonempty(lx, "sysctl", "linux", "sysctls are not applied", err) < 0) return -1;
  if (refuse_nonempty(lx, "devices", "linux", "only the default devices are created", err) < 0) return -1;
  if (refuse_nonempty(lx, "mountLabel", "linux", "no SELinux support", err) < 0) return -1;
  json_t *v;
  if (json_util_member(lx, "namespaces", "linux", JSON_ARRAY, true, &v, err) < 0) return -1;
  if (parse_namespaces(v, s, err) < 0) return -1;
  if (json_util_member(lx, "resources", "linux", JSON_OBJECT, false, &v, err) < 0) return -1;
  if (v != NULL && parse_resources(v, s, err) < 0) return -1;
  if (get_string(lx, "cgroupsPath", "linux", false, &s->cgroups_path, err) < 0) return -1;
  if (get_strings(lx, "maskedPaths", "linux", false, &s->masked_paths, &s->n_masked_paths, err) < 0) return -1;
  if (get_strings(lx, "readonlyPaths", "linux", false, &s->readonly_paths, &s->n_readonly_paths, err) < 0) return -1;
  for (size_t i = 0; i < s->n_masked_paths; i++)
    if (s->masked_paths[i][0] != '/') return kerr_set(err, 0, CFG ": linux.maskedPaths[%zu]: must be absolute", i);
  for (size_t i = 0; i < s->n_readonly_paths; i++)
    if (s->readonly_paths[i][0] != '/') return kerr_set(err, 0, CFG ": linux.readonlyPaths[%zu]: must be absolute", i);
  const char *prop;
  if (get_string(lx, "rootfsPropagation", "linux", false, &prop, err) < 0) return -1;
  if (prop != NULL && parse_propagation(prop, &s->rootfs_propagation) < 0)
    return kerr_set(err, 0, CFG ": linux.rootfsPropagation: unknown value \"%s\"", prop);
  if (parse_id_mappings(lx, s, err) < 0) return -1;
  if (json_util_member(lx, "seccomp", "linux", JSON_OBJECT, false, &v, err) < 0) return -1;
  if (v != NULL && seccomp_filter_new(v, &s->seccomp, err) < 0) return -1;
  return 0;
}

#define ROOTFS_IDMAP_ANNOTATION "io.kctl.rootfs.idmap"

static int parse_root_idmap(struct spec *s, struct kerr *err) {
  json_t *v = s->annotations != NULL ? json_object_get(s->annotations, ROOTFS_IDMAP_ANNOTATION) : NULL;
  if (v == NULL || (json_is_string(v) && strcmp(json_string_value(v), "false") == 0)) return 0;
  if (!json_is_string(v) || strcmp(json_string_value(v), "true") != 0)
    return kerr_set(err, 0, CFG ": annotations[\"" ROOTFS_IDMAP_ANNOTATION "\"]: must be \"true\" or \"false\"");
  if (!(s->clone_flags & CLONE_NEWUSER))
    return kerr_set(err, 0, CFG ": annotations[\"" ROOTFS_IDMAP_ANNOTATION "\"]: needs a user namespace in linux.namespaces");
  s->root_idmap = calloc(1, sizeof *s->root_idmap);
  if (s->root_idmap == NULL) return kerr_set(err, errno, "allocate root idmap");
  *s->root_idmap = (struct mount_spec){.destination = "/", .source = s->rootfs, .bind = true, .recursive = true,
                                       .idmap = true, .idmap_fd = -1};
  return 0;
}

static int parse_spec(struct spec *s, struct kerr *err) {
  static const char *const keys[] = {"ociVersion", "process", "root", "hostname", "domainname", "mounts",
                                     "linux", "annotations", "hooks", NULL};
  static const char *const root_keys[] = {"path", "readonly", NULL};
  json_t *j = s->json;
  if (!json_is_object(j)) return kerr_set(err, 0, CFG ": must be a JSON object");
  if (json_util_check_keys(j, "", keys, err) < 0) return -1;
  if (refuse_nonempty(j, "hooks", "", "hooks are not run", err) < 0) return -1;
  const char *version;
  if (get_string(j, "ociVersion", "", true, &version, err) < 0) return -1;
  if (strncmp(version, "1.", 2) != 0) return kerr_set(err, 0, CFG ": .ociVersion: \"%s\" is not 1.x", version);
  json_t *v;
  if (json_util_member(j, "process", "", JSON_OBJECT, true, &v, err) < 0) return -1;
  if (spec_parse_process(v, &s->process, err) < 0) return -1;
  if (json_util_member(j, "root", "", JSON_OBJECT, true, &v, err) < 0) return -1;
  if (json_util_check_keys(v, "root", root_keys, err) < 0) return -1;
  const char *root;
  if (get_string(v, "path", "root", true, &root, err) < 0) return -1;
  if (get_bool(v, "readonly", "root", &s->root_readonly, err) < 0) return -1;
  _cleanup_free_ char *joined = NULL;
  if (root[0] != '/' && asprintf(&joined, "%s/%s", s->bundle, root) < 0) return kerr_set(err, ENOMEM, "root.path");
  s->rootfs = realpath(joined != NULL ? joined : root, NULL);
  if (s->rootfs == NULL) return kerr_set(err, errno, CFG ": root.path: \"%s\"", joined != NULL ? joined : root);
  if (get_string(j, "hostname", "", false, &s->hostname, err) < 0) return -1;
  if (get_string(j, "domainname", "", false, &s->domainname, err) < 0) return -1;
  if (json_util_member(j, "annotations", "", JSON_OBJECT, false, &s->annotations, err) < 0) return -1;
  if (json_util_member(j, "linux", "", JSON_OBJECT, true, &v, err) < 0) return -1;
  if (parse_linux(v, s, err) < 0) return -1;
  if ((s->hostname != NULL || s->domainname != NULL) && spec_namespace(s, CLONE_NEWUTS) == NULL)
    return kerr_set(err, 0, CFG ": .hostname: setting it needs a uts namespace");
  if (json_util_member(j, "mounts", "", JSON_ARRAY, false, &v, err) < 0) return -1;
  size_t n = v != NULL ? json_array_size(v) : 0;
  s->mounts = calloc(n + 1, sizeof *s->mounts);
  if (s->mounts == NULL) return kerr_set(err, errno, "allocate mounts");
  for (size_t i = 0; i < n; i++) {
    char path[64];
    snprintf(path, sizeof path, "mounts[%zu]", i);
    s->n_mounts = i + 1;
    if (parse_mount(json_array_get(v, i), path, &s->mounts[i], err) < 0) return -1;
    if (s->mounts[i].idmap && !(s->clone_flags & CLONE_NEWUSER))
      return kerr_set(err, 0, CFG ": %s.options: idmap needs a user namespace in linux.namespaces", path);
  }
  return parse_root_idmap(s, err);
}

int spec_load(const char *bundle, struct spec **out, struct kerr *err) {
  _cleanup_spec_ struct spec *s = calloc(1, sizeof *s);
  if (s == NULL) return kerr_set(err, errno, "allocate spec");
  s->resources = (struct resources_spec){.memory_limit = -1, .memory_swap = -1, .cpu_quota = -1};
  s->bundle = realpath(bundle, NULL);
  if (s->bundle == NULL) return kerr_set(err, errno, "bundle %s", bundle);
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "%s/config.json", s->bundle) < 0) return kerr_set(err, ENOMEM, "bundle path");
  json_error_t jerr;
  s->json = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (s->json == NULL) {
    if (access(path, R_OK) < 0) return kerr_set(err, errno, "read %s", path);
    return kerr_set(err, 0, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
  }
  if (parse_spec(s, err) < 0) return kerr_wrap(err, "bundle %s", s->bundle);
  *out = steal_ptr(&s);
  return 0;
}

void spec_free(struct spec *s) {
  process_spec_free(&s->process);
  free(s->root_idmap);
  free(s->resources.devices);
  for (size_t i = 0; i < s->n_mounts; i++) free(s->mounts[i].data);
  free(s->mounts);
  free(s->masked_paths);
  free(s->readonly_paths);
  seccomp_filter_free(s->seccomp);
  free(s->uid_mappings);
  free(s->gid_mappings);
  free(s->rootfs);
  free(s->bundle);
  if (s->json != NULL) json_decref(s->json);
  free(s);
}

const struct namespace_spec *spec_namespace(const struct spec *s, int flag) {
  for (size_t i = 0; i < s->n_namespaces; i++)
    if (s->namespaces[i].flag == flag) return &s->namespaces[i];
  return NULL;
}
