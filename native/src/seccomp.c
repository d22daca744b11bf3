/* Seccomp filters with libseccomp (see seccomp.h). Rules follow runc's reading of the OCI schema:
 * a syscall entry whose args name distinct indexes is one rule (all conditions must hold);
 * repeated indexes make one rule per condition (any may hold), because libseccomp refuses two
 * conditions on one argument in a rule.
 *
 * Cache entry <cache_dir>/<64-bit FNV-1a of the key, hex>: u32 key length, the key (format version,
 * libseccomp version, the profile as sorted compact JSON), u32 kernel filter flags,
 * the BPF program. A hit needs the whole key to be equal, so a hash collision only costs a
 * recompile. */
#define _GNU_SOURCE
#include "seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "json-util.h"

#define CFG "config.json: "
#define MAX_ARGS 6

/* Bump when the way a profile is compiled changes: old cache entries then stop matching. */
#define CACHE_FORMAT 1

struct seccomp_filter {
  json_t *json; /* linux.seccomp, borrowed */
  uint32_t flags; /* SECCOMP_FILTER_FLAG_* for the seccomp() call */
  struct sock_filter *prog;
  size_t len; /* instructions */
};

static void cleanup_ctxp(scmp_filter_ctx *ctx) {
  if (*ctx != NULL) seccomp_release(*ctx);
}
#define _cleanup_ctx_ __attribute__((cleanup(cleanup_ctxp)))

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
  uint32_t flag;
} flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* An optional errno value at obj.key: 0..65535 (the action's 16-bit data). */
static int get_errno(json_t *obj, const char *key, const char *path, bool *has, uint32_t *out, struct kerr *err) {
  json_t *v;
  if (json_util_member(obj, key, path, JSON_INTEGER, false, &v, err) < 0) return -1;
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
  if (json_util_member(obj, action_key, path, JSON_STRING, true, &v, err) < 0) return -1;
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
  if (json_util_check_keys(a, path, keys, err) < 0) return -1;
  json_t *index, *value, *two, *op;
  if (json_util_member(a, "index", path, JSON_INTEGER, true, &index, err) < 0 ||
      json_util_member(a, "value", path, JSON_INTEGER, true, &value, err) < 0 ||
      json_util_member(a, "valueTwo", path, JSON_INTEGER, false, &two, err) < 0 ||
      json_util_member(a, "op", path, JSON_STRING, true, &op, err) < 0)
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
  if (json_util_check_keys(sc, path, keys, err) < 0) return -1;
  /* includes/excludes belong to Docker's profile format, resolved before it becomes OCI */
  if (json_object_get(sc, "includes") != NULL || json_object_get(sc, "excludes") != NULL)
    return kerr_set(err, 0, CFG "%s: includes/excludes are Docker profile fields, not OCI (resolve them first)", path);
  json_t *names, *args;
  if (json_util_member(sc, "names", path, JSON_ARRAY, true, &names, err) < 0) return -1;
  if (json_array_size(names) == 0) return kerr_set(err, 0, CFG "%s.names: must not be empty", path);
  uint32_t action;
  if (parse_action(sc, path, "action", "errnoRet", &action, err) < 0) return -1;
  if (json_util_member(sc, "args", path, JSON_ARRAY, false, &args, err) < 0) return -1;
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

/* The flags go to the seccomp() call that loads the program, not into the program itself. */
static int parse_flags(json_t *list, uint32_t *out, struct kerr *err) {
  for (size_t i = 0; i < json_array_size(list); i++) {
    const char *name = json_string_value(json_array_get(list, i));
    if (name == NULL) return kerr_set(err, 0, CFG "linux.seccomp.flags[%zu]: must be a string", i);
    size_t k = 0;
    while (k < COUNT(flags) && strcmp(name, flags[k].name) != 0) k++;
    if (k == COUNT(flags))
      return kerr_set(err, 0, CFG "linux.seccomp.flags[%zu]: \"%s\" is not supported (TSYNC, LOG, SPEC_ALLOW)", i, name);
    *out |= flags[k].flag;
  }
  return 0;
}

/* Validates the profile and builds its libseccomp context. */
static int build(json_t *sc, scmp_filter_ctx *out, uint32_t *kernel_flags, struct kerr *err) {
  static const char *const keys[] = {"defaultAction", "defaultErrnoRet", "architectures", "flags",
                                     "listenerPath",  "listenerMetadata", "syscalls", NULL};
  const char *path = "linux.seccomp";
  if (json_util_check_keys(sc, path, keys, err) < 0) return -1;
  for (const char *const *k = (const char *const[]){"listenerPath", "listenerMetadata", NULL}; *k != NULL; k++) {
    json_t *v = json_object_get(sc, *k);
    if (v != NULL && !(json_is_string(v) && json_string_length(v) == 0) && !json_is_null(v))
      return kerr_set(err, 0, CFG "%s.%s: not supported (no seccomp agent)", path, *k);
  }
  uint32_t default_action;
  if (parse_action(sc, path, "defaultAction", "defaultErrnoRet", &default_action, err) < 0) return -1;
  _cleanup_ctx_ scmp_filter_ctx ctx = seccomp_init(default_action);
  if (ctx == NULL) return kerr_set(err, EINVAL, CFG "%s.defaultAction: seccomp_init", path);
  json_t *v;
  if (json_util_member(sc, "architectures", path, JSON_ARRAY, false, &v, err) < 0) return -1;
  if (v != NULL && add_arches(ctx, v, err) < 0) return -1;
  if (json_util_member(sc, "flags", path, JSON_ARRAY, false, &v, err) < 0) return -1;
  *kernel_flags = 0;
  if (v != NULL && parse_flags(v, kernel_flags, err) < 0) return -1;
  if (json_util_member(sc, "syscalls", path, JSON_ARRAY, false, &v, err) < 0) return -1;
  for (size_t i = 0; v != NULL && i < json_array_size(v); i++) {
    char spath[64];
    snprintf(spath, sizeof spath, "%s.syscalls[%zu]", path, i);
    if (add_rules(ctx, default_action, json_array_get(v, i), spath, err) < 0) return -1;
  }
  *out = steal_ptr(&ctx);
  return 0;
}

/* The BPF program of ctx, read back from the memfd libseccomp exports it to. */
static int export_program(scmp_filter_ctx ctx, struct sock_filter **prog, size_t *len, struct kerr *err) {
  _cleanup_close_ int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
  if (fd < 0) return kerr_set(err, errno, "seccomp: memfd for the program");
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) return kerr_set(err, -rc, "linux.seccomp: compile the filter");
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0)
    return kerr_set(err, EINVAL, "linux.seccomp: compiled program of %lld bytes", (long long)size);
  *prog = malloc((size_t)size);
  if (*prog == NULL) return kerr_set(err, errno, "allocate the seccomp program");
  if (pread(fd, *prog, (size_t)size, 0) != size) return kerr_set(err, errno, "read the seccomp program back");
  *len = (size_t)size / sizeof(struct sock_filter);
  return 0;
}

static uint64_t fnv1a(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
  return h;
}

/* Reads the program cached under key into f; false on a miss or an unreadable entry. */
static bool cache_read(const char *path, const char *key, size_t keylen, struct seccomp_filter *f) {
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > (1 << 22)) return false;
  _cleanup_free_ char *buf = malloc((size_t)st.st_size);
  if (buf == NULL || read(fd, buf, (size_t)st.st_size) != st.st_size) return false;
  uint32_t n, kernel_flags;
  size_t head = sizeof n + keylen + sizeof kernel_flags;
  if ((size_t)st.st_size <= head) return false;
  memcpy(&n, buf, sizeof n);
  if (n != keylen || memcmp(buf + sizeof n, key, keylen) != 0) return false;
  size_t bytes = (size_t)st.st_size - head;
  if (bytes % sizeof(struct sock_filter) != 0) return false;
  memcpy(&kernel_flags, buf + sizeof n + keylen, sizeof kernel_flags);
  f->prog = malloc(bytes);
  if (f->prog == NULL) return false;
  memcpy(f->prog, buf + head, bytes);
  f->len = bytes / sizeof(struct sock_filter);
  f->flags = kernel_flags;
  return true;
}

/* Best effort: a failed write only means the next create compiles again. */
static void cache_write(const char *dir, const char *path, const char *key, size_t keylen,
                        const struct seccomp_filter *f) {
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) return;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
  _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  uint32_t n = (uint32_t)keylen;
  bool ok = write(fd, &n, sizeof n) == sizeof n && write(fd, key, keylen) == (ssize_t)keylen &&
            write(fd, &f->flags, sizeof f->flags) == sizeof f->flags &&
            write(fd, f->prog, f->len * sizeof *f->prog) == (ssize_t)(f->len * sizeof *f->prog);
  if (!ok || rename(tmp, path) < 0) unlink(tmp);
}

int seccomp_filter_new(json_t *sc, struct seccomp_filter **out, struct kerr *err) {
  struct seccomp_filter *f = calloc(1, sizeof *f);
  if (f == NULL) return kerr_set(err, errno, "allocate seccomp filter");
  f->json = sc;
  *out = f;
  return 0;
}

int seccomp_filter_compile(struct seccomp_filter *f, const char *cache_dir, struct kerr *err) {
  if (f->prog != NULL) return 0;
  _cleanup_free_ char *profile = json_dumps(f->json, JSON_COMPACT | JSON_SORT_KEYS);
  _cleanup_free_ char *key = NULL;
  const struct scmp_version *v = seccomp_version();
  if (profile == NULL || asprintf(&key, "kshim-seccomp %d libseccomp %u.%u.%u\n%s", CACHE_FORMAT, v->major,
                                  v->minor, v->micro, profile) < 0)
    return kerr_set(err, ENOMEM, "linux.seccomp: cache key");
  size_t keylen = strlen(key);
  char path[4096];
  snprintf(path, sizeof path, "%s/%016llx", cache_dir, (unsigned long long)fnv1a(key, keylen));
  if (cache_read(path, key, keylen, f)) return 0;
  _cleanup_ctx_ scmp_filter_ctx ctx = NULL;
  if (build(f->json, &ctx, &f->flags, err) < 0) return -1;
  if (export_program(ctx, &f->prog, &f->len, err) < 0) return -1;
  cache_write(cache_dir, path, key, keylen, f);
  return 0;
}

int seccomp_filter_load(const struct seccomp_filter *f, struct kerr *err) {
  struct sock_fprog prog = {.len = (unsigned short)f->len, .filter = f->prog};
  if (f->prog == NULL || f->len > BPF_MAXINSNS) return kerr_set(err, EINVAL, "linux.seccomp: no compiled filter to load");
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, &prog) < 0)
    return kerr_set(err, errno, "linux.seccomp: load the filter%s",
                    errno == EACCES ? " (without noNewPrivileges it needs CAP_SYS_ADMIN)" : "");
  return 0;
}

void seccomp_filter_free(struct seccomp_filter *f) {
  if (f == NULL) return;
  free(f->prog);
  free(f);
}
