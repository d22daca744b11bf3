/* Seccomp filters with libseccomp (see seccomp.h). Rules follow runc's reading of the OCI schema:
 * a syscall entry whose args name distinct indexes is one rule (all conditions must hold);
 * repeated indexes make one rule per condition (any may hold), because libseccomp refuses two
 * conditions on one argument in a rule. */
#define _GNU_SOURCE
#include "seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

#define CFG "config.json: "
#define MAX_ARGS 6

struct seccomp_filter {
  scmp_filter_ctx ctx;
};

static const struct {
  const char *name;
  uint32_t action; /* ERRNO and TRACE take errnoRet in their low 16 bits */
} actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},         {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS}, {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},       {"SCMP_ACT_LOG", SCMP_ACT_LOG},
};

static const struct {
  const char *name;
  enum scmp_compare op;
} ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static const struct {
  const char *name;
  enum scmp_filter_attr attr;
} flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* An optional errno value at obj.key: 0..65535 (the action's 16-bit data). */
static int get_errno(json_t *obj, const char *key, const char *path, bool *has, uint32_t *out, struct kerr *err) {
  json_t *v;
  if (spec_json_member(obj, key, path, JSON_INTEGER, false, &v, err) < 0) return -1;
  *has = v != NULL;
  if (v == NULL) return 0;
  json_int_t n = json_integer_value(v);
  if (n < 0 || n > 0xffff) return kerr_set(err, 0, CFG "%s.%s: %lld is not an errno (0..65535)", path, key, (long long)n);
  *out = (uint32_t)n;
  return 0;
}

/* obj.action_key with obj.errno_key into a libseccomp action; ERRNO and TRACE default to EPERM
 * (or default_errno, for the default action) as in runc. */
static int parse_action(json_t *obj, const char *path, const char *action_key, const char *errno_key,
                        uint32_t *out, struct kerr *err) {
  json_t *v;
  if (spec_json_member(obj, action_key, path, JSON_STRING, true, &v, err) < 0) return -1;
  const char *name = json_string_value(v);
  bool has_errno;
  uint32_t errno_ret = EPERM;
  if (get_errno(obj, errno_key, path, &has_errno, &errno_ret, err) < 0) return -1;
  if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
    return kerr_set(err, 0, CFG "%s.%s: SCMP_ACT_NOTIFY is not supported (no seccomp agent)", path, action_key);
  for (size_t i = 0; i < COUNT(actions); i++) {
    if (strcmp(name, actions[i].name) != 0) continue;
    bool takes_errno = actions[i].action == SCMP_ACT_ERRNO(0) || actions[i].action == SCMP_ACT_TRACE(0);
    if (has_errno && !takes_errno)
      return kerr_set(err, 0, CFG "%s.%s: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one", path, errno_key);
    *out = takes_errno ? actions[i].action | errno_ret : actions[i].action;
    return 0;
  }
  return kerr_set(err, 0, CFG "%s.%s: unknown action \"%s\"", path, action_key, name);
}

static int parse_arg(json_t *a, const char *path, struct scmp_arg_cmp *out, struct kerr *err) {
  static const char *const keys[] = {"index", "value", "valueTwo", "op", NULL};
  if (!json_is_object(a)) return kerr_set(err, 0, CFG "%s: must be an object", path);
  if (spec_json_check_keys(a, path, keys, err) < 0) return -1;
  json_t *index, *value, *two, *op;
  if (spec_json_member(a, "index", path, JSON_INTEGER, true, &index, err) < 0 ||
      spec_json_member(a, "value", path, JSON_INTEGER, true, &value, err) < 0 ||
      spec_json_member(a, "valueTwo", path, JSON_INTEGER, false, &two, err) < 0 ||
      spec_json_member(a, "op", path, JSON_STRING, true, &op, err) < 0)
    return -1;
  json_int_t i = json_integer_value(index);
  if (i < 0 || i >= MAX_ARGS) return kerr_set(err, 0, CFG "%s.index: %lld is not a syscall argument (0..5)", path, (long long)i);
  out->arg = (unsigned)i;
  /* OCI values are uint64 on the wire; jansson keeps them as int64, same bits */
  out->datum_a = (scmp_datum_t)json_integer_value(value);
  out->datum_b = two != NULL ? (scmp_datum_t)json_integer_value(two) : 0;
  const char *name = json_string_value(op);
  for (size_t k = 0; k < COUNT(ops); k++)
    if (strcmp(name, ops[k].name) == 0) {
      out->op = ops[k].op;
      return 0;
    }
  return kerr_set(err, 0, CFG "%s.op: unknown operator \"%s\"", path, name);
}

static int add_rules(scmp_filter_ctx ctx, uint32_t default_action, json_t *sc, const char *path, struct kerr *err) {
  static const char *const keys[] = {"names", "action", "errnoRet", "args", "comment", "includes", "excludes", NULL};
  if (!json_is_object(sc)) return kerr_set(err, 0, CFG "%s: must be an object", path);
  if (spec_json_check_keys(sc, path, keys, err) < 0) return -1;
  /* includes/excludes belong to Docker's profile format, resolved before it becomes OCI */
  if (json_object_get(sc, "includes") != NULL || json_object_get(sc, "excludes") != NULL)
    return kerr_set(err, 0, CFG "%s: includes/excludes are Docker profile fields, not OCI (resolve them first)", path);
  json_t *names, *args;
  if (spec_json_member(sc, "names", path, JSON_ARRAY, true, &names, err) < 0) return -1;
  if (json_array_size(names) == 0) return kerr_set(err, 0, CFG "%s.names: must not be empty", path);
  uint32_t action;
  if (parse_action(sc, path, "action", "errnoRet", &action, err) < 0) return -1;
  if (spec_json_member(sc, "args", path, JSON_ARRAY, false, &args, err) < 0) return -1;
  size_t nargs = args != NULL ? json_array_size(args) : 0;
  if (nargs > MAX_ARGS) return kerr_set(err, 0, CFG "%s.args: at most %d conditions", path, MAX_ARGS);
  struct scmp_arg_cmp cmp[MAX_ARGS];
  bool repeated = false;
  for (size_t i = 0; i < nargs; i++) {
    char apath[128];
    snprintf(apath, sizeof apath, "%s.args[%zu]", path, i);
    if (parse_arg(json_array_get(args, i), apath, &cmp[i], err) < 0) return -1;
    for (size_t j = 0; j < i; j++) repeated |= cmp[j].arg == cmp[i].arg;
  }
  for (size_t n = 0; n < json_array_size(names); n++) {
    json_t *name = json_array_get(names, n);
    if (!json_is_string(name)) return kerr_set(err, 0, CFG "%s.names[%zu]: must be a string", path, n);
    int nr = seccomp_syscall_resolve_name(json_string_value(name));
    /* unknown here (newer than this libseccomp, or another arch's): nothing to filter */
    if (nr == __NR_SCMP_ERROR) continue;
    /* libseccomp refuses a rule that repeats the default action; it would change nothing */
    if (action == default_action) continue;
    int rc = 0;
    if (!repeated) {
      rc = seccomp_rule_add_array(ctx, action, nr, (unsigned)nargs, cmp);
    } else {
      for (size_t i = 0; i < nargs && rc == 0; i++) rc = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i]);
    }
    if (rc < 0)
      return kerr_set(err, -rc, CFG "%s.names[%zu]: add rule for \"%s\"", path, n, json_string_value(name));
  }
  return 0;
}

static int add_arches(scmp_filter_ctx ctx, json_t *arches, struct kerr *err) {
  for (size_t i = 0; i < json_array_size(arches); i++) {
    json_t *v = json_array_get(arches, i);
    const char *name = json_string_value(v);
    if (name == NULL) return kerr_set(err, 0, CFG "linux.seccomp.architectures[%zu]: must be a string", i);
    char lower[32];
    size_t n = strlen(name);
    bool prefixed = strncmp(name, "SCMP_ARCH_", 10) == 0 && n - 10 < sizeof lower;
    for (size_t k = 0; prefixed && k <= n - 10; k++) lower[k] = (char)tolower((unsigned char)name[10 + k]);
    uint32_t arch = prefixed ? seccomp_arch_resolve_name(lower) : 0;
    if (arch == 0) return kerr_set(err, 0, CFG "linux.seccomp.architectures[%zu]: unknown architecture \"%s\"", i, name);
    int rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST)
      return kerr_set(err, -rc, CFG "linux.seccomp.architectures[%zu]: add \"%s\"", i, name);
  }
  return 0;
}

static int set_flags(scmp_filter_ctx ctx, json_t *list, struct kerr *err) {
  for (size_t i = 0; i < json_array_size(list); i++) {
    const char *name = json_string_value(json_array_get(list, i));
    if (name == NULL) return kerr_set(err, 0, CFG "linux.seccomp.flags[%zu]: must be a string", i);
    size_t k = 0;
    while (k < COUNT(flags) && strcmp(name, flags[k].name) != 0) k++;
    if (k == COUNT(flags))
      return kerr_set(err, 0, CFG "linux.seccomp.flags[%zu]: \"%s\" is not supported (TSYNC, LOG, SPEC_ALLOW)", i, name);
    int rc = seccomp_attr_set(ctx, flags[k].attr, 1);
    if (rc < 0) return kerr_set(err, -rc, CFG "linux.seccomp.flags[%zu]: set %s", i, name);
  }
  return 0;
}

static int build(struct seccomp_filter *f, json_t *sc, bool no_new_privs, struct kerr *err) {
  static const char *const keys[] = {"defaultAction", "defaultErrnoRet", "architectures", "flags",
                                     "listenerPath",  "listenerMetadata", "syscalls", NULL};
  const char *path = "linux.seccomp";
  if (spec_json_check_keys(sc, path, keys, err) < 0) return -1;
  for (const char *const *k = (const char *const[]){"listenerPath", "listenerMetadata", NULL}; *k != NULL; k++) {
    json_t *v = json_object_get(sc, *k);
    if (v != NULL && !(json_is_string(v) && json_string_length(v) == 0) && !json_is_null(v))
      return kerr_set(err, 0, CFG "%s.%s: not supported (no seccomp agent)", path, *k);
  }
  uint32_t default_action;
  if (parse_action(sc, path, "defaultAction", "defaultErrnoRet", &default_action, err) < 0) return -1;
  f->ctx = seccomp_init(default_action);
  if (f->ctx == NULL) return kerr_set(err, EINVAL, CFG "%s.defaultAction: seccomp_init", path);
  int rc = seccomp_attr_set(f->ctx, SCMP_FLTATR_CTL_NNP, no_new_privs ? 1 : 0);
  if (rc < 0) return kerr_set(err, -rc, "seccomp: set the no_new_privs attribute");
  json_t *v;
  if (spec_json_member(sc, "architectures", path, JSON_ARRAY, false, &v, err) < 0) return -1;
  if (v != NULL && add_arches(f->ctx, v, err) < 0) return -1;
  if (spec_json_member(sc, "flags", path, JSON_ARRAY, false, &v, err) < 0) return -1;
  if (v != NULL && set_flags(f->ctx, v, err) < 0) return -1;
  if (spec_json_member(sc, "syscalls", path, JSON_ARRAY, false, &v, err) < 0) return -1;
  for (size_t i = 0; v != NULL && i < json_array_size(v); i++) {
    char spath[64];
    snprintf(spath, sizeof spath, "%s.syscalls[%zu]", path, i);
    if (add_rules(f->ctx, default_action, json_array_get(v, i), spath, err) < 0) return -1;
  }
  return 0;
}

int seccomp_filter_build(json_t *sc, bool no_new_privs, struct seccomp_filter **out, struct kerr *err) {
  struct seccomp_filter *f = calloc(1, sizeof *f);
  if (f == NULL) return kerr_set(err, errno, "allocate seccomp filter");
  if (build(f, sc, no_new_privs, err) < 0) {
    seccomp_filter_free(f);
    return -1;
  }
  *out = f;
  return 0;
}

int seccomp_filter_load(const struct seccomp_filter *f, struct kerr *err) {
  int rc = seccomp_load(f->ctx);
  if (rc < 0)
    return kerr_set(err, -rc, "linux.seccomp: load the filter%s",
                    rc == -EACCES || rc == -EPERM ? " (without noNewPrivileges it needs CAP_SYS_ADMIN)" : "");
  return 0;
}

void seccomp_filter_free(struct seccomp_filter *f) {
  if (f == NULL) return;
  if (f->ctx != NULL) seccomp_release(f->ctx);
  free(f);
}
