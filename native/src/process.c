/* Process identity and exec preparation (see process.h). */
#define _GNU_SOURCE
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int last_cap(void) {
  _cleanup_file_ FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  int v = CAP_LAST_CAP;
  if (f != NULL && fscanf(f, "%d", &v) != 1) v = CAP_LAST_CAP;
  return v;
}

static int set_caps(const struct process_spec *p, struct kerr *err) {
  cap_t caps = cap_init();
  if (caps == NULL) return kerr_set(err, errno, "cap_init");
  static const struct {
    enum cap_set set;
    cap_flag_t flag;
  } map[] = {{CAPS_EFFECTIVE, CAP_EFFECTIVE}, {CAPS_PERMITTED, CAP_PERMITTED}, {CAPS_INHERITABLE, CAP_INHERITABLE}};
  for (size_t m = 0; m < 3; m++)
    for (cap_value_t c = 0; c < 64; c++)
      if (p->caps[map[m].set] & (1ULL << c)) {
        if (cap_set_flag(caps, map[m].flag, 1, &c, CAP_SET) < 0) {
          cap_free(caps);
          return kerr_set(err, errno, "process.capabilities: set capability %d", c);
        }
      }
  int rc = cap_set_proc(caps);
  int e = errno;
  cap_free(caps);
  if (rc < 0) return kerr_set(err, e, "process.capabilities: capset (effective must be within permitted)");
  /* The kernel only raises an ambient capability that is permitted and inheritable; runc and
   * crun skip the others (`runc spec` lists ambient ones with an empty inheritable set), and
   * skipping grants less, never more. */
  uint64_t raisable = p->caps[CAPS_AMBIENT] & p->caps[CAPS_PERMITTED] & p->caps[CAPS_INHERITABLE];
  for (int c = 0; c < 64; c++)
    if ((raisable & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
      return kerr_set(err, errno, "process.capabilities.ambient: raise capability %d (needs it permitted and inheritable)", c);
  return 0;
}

int process_apply(const struct process_spec *p, const char *cwd, struct kerr *err) {
  for (size_t i = 0; i < p->n_rlimits; i++)
    if (setrlimit(p->rlimits[i].resource, &p->rlimits[i].value) < 0)
      return kerr_set(err, errno, "process.rlimits[%zu]: setrlimit", i);
  if (p->has_oom_score_adj) {
    _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    char v[16];
    int n = snprintf(v, sizeof v, "%d", p->oom_score_adj);
    if (fd < 0 || write(fd, v, (size_t)n) != n) return kerr_set(err, errno, "process.oomScoreAdj: write %s", v);
  }
  if (p->has_caps) {
    int last = last_cap();
    for (int c = 0; c <= last && c < 64; c++)
      if (!(p->caps[CAPS_BOUNDING] & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
        return kerr_set(err, errno, "process.capabilities.bounding: drop capability %d", c);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return kerr_set(err, errno, "prctl PR_SET_KEEPCAPS");
  }
  if (setgroups(p->n_additional_gids, p->additional_gids) < 0)
    return kerr_set(err, errno, "process.user.additionalGids: setgroups");
  if (setresgid(p->gid, p->gid, p->gid) < 0) return kerr_set(err, errno, "process.user.gid: setresgid %u", p->gid);
  if (setresuid(p->uid, p->uid, p->uid) < 0) return kerr_set(err, errno, "process.user.uid: setresuid %u", p->uid);
  if (p->has_caps) {
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return kerr_set(err, errno, "prctl PR_SET_KEEPCAPS");
    if (set_caps(p, err) < 0) return -1;
  }
  if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return kerr_set(err, errno, "process.noNewPrivileges: prctl");
  if (chdir(cwd) < 0) return kerr_set(err, errno, "process.cwd: chdir %s", cwd);
  return 0;
}

static bool executable(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int process_find_executable(const char *arg0, const char *const *env, char *out, size_t len, struct kerr *err) {
  if (strchr(arg0, '/') != NULL) {
    snprintf(out, len, "%s", arg0);
    if (!executable(out)) return kerr_set(err, errno != 0 ? errno : EACCES, "process.args[0]: %s", arg0);
    return 0;
  }
  const char *path = DEFAULT_PATH;
  for (size_t i = 0; env != NULL && env[i] != NULL; i++)
    if (strncmp(env[i], "PATH=", 5) == 0) path = env[i] + 5;
  for (const char *p = path; *p != '\0';) {
    size_t n = strcspn(p, ":");
    snprintf(out, len, "%.*s/%s", (int)n, n == 0 ? "." : p, arg0);
    if (executable(out)) return 0;
    p += n;
    if (*p == ':') p++;
  }
  return kerr_set(err, ENOENT, "process.args[0]: \"%s\" not found in PATH %s", arg0, path);
}

static const char *home_of(uid_t uid) {
  static char home[256];
  _cleanup_file_ FILE *f = fopen("/etc/passwd", "re");
  char line[512];
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    char *fields[7];
    char *s = line;
    size_t n = 0;
    /* strtok would merge empty fields; walk ':' by hand */
    for (; n < 7; n++) {
      fields[n] = s;
      s = strchr(s, ':');
      if (s == NULL) break;
      *s++ = '\0';
    }
    if (n >= 5 && (uid_t)strtoul(fields[2], NULL, 10) == uid && fields[5][0] == '/') {
      snprintf(home, sizeof home, "%s", fields[5]);
      return home;
    }
  }
  return "/";
}

char **process_environment(const char *const *base, const char *const *overrides, uid_t uid) {
  size_t nb = 0, no = 0;
  while (base != NULL && base[nb] != NULL) nb++;
  while (overrides != NULL && overrides[no] != NULL) no++;
  char **env = calloc(nb + no + 2, sizeof *env);
  if (env == NULL) return NULL;
  size_t n = 0;
  for (size_t i = 0; i < nb + no; i++) {
    const char *kv = i < nb ? base[i] : overrides[i - nb];
    size_t keylen = strcspn(kv, "=");
    size_t j = 0;
    while (j < n && !(strncmp(env[j], kv, keylen) == 0 && env[j][keylen] == '=')) j++;
    env[j] = (char *)kv;
    if (j == n) n++;
  }
  bool has_home = false;
  for (size_t j = 0; j < n; j++)
    if (strncmp(env[j], "HOME=", 5) == 0) has_home = true;
  if (!has_home && asprintf(&env[n], "HOME=%s", home_of(uid)) > 0) n++;
  env[n] = NULL;
  return env;
}
