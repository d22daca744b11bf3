/* State directory files (see state.h). */
#define _GNU_SOURCE
#include "state.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

int state_dir_path(const char *root, const char *id, char *out, size_t len, struct kerr *err) {
  size_t n = strlen(id);
  if (n == 0 || n > 128 || !isalnum((unsigned char)id[0]))
    return kerr_set(err, 0, "container id \"%s\": must be 1-128 characters starting with a letter or digit", id);
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '-' && id[i] != '.')
      return kerr_set(err, 0, "container id \"%s\": only letters, digits, '_', '-' and '.' are allowed", id);
  if ((size_t)snprintf(out, len, "%s/%s", root, id) >= len) return kerr_set(err, ENAMETOOLONG, "state dir %s/%s", root, id);
  return 0;
}

int state_write_json(const char *dir, const char *name, json_t *json, struct kerr *err) {
  char tmp[PATH_MAX], path[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (json_dump_file(json, tmp, JSON_COMPACT) < 0) return kerr_set(err, errno, "write %s", tmp);
  if (rename(tmp, path) < 0) return kerr_set(err, errno, "rename %s to %s", tmp, path);
  return 0;
}

unsigned long long state_proc_start_time(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  if (n <= 0) return 0;
  buf[n] = '\0';
  /* the command name may hold spaces and parentheses: fields restart after the last ')' */
  char *p = strrchr(buf, ')');
  if (p == NULL) return 0;
  char state = 0;
  unsigned long long start = 0;
  if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &state,
             &start) != 2)
    return 0;
  return state == 'Z' || state == 'X' ? 0 : start;
}

void state_rfc3339_now(char *buf, size_t len) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, len, "%s.%09ldZ", date, ts.tv_nsec);
}

int state_load(const char *root, const char *id, struct state **out, struct kerr *err) {
  char dir[PATH_MAX], path[PATH_MAX];
  if (state_dir_path(root, id, dir, sizeof dir, err) < 0) return -1;
  snprintf(path, sizeof path, "%s/shim.json", dir);
  json_error_t jerr;
  _cleanup_json_ json_t *json = json_load_file(path, 0, &jerr);
  if (json == NULL) {
    struct stat st;
    if (stat(dir, &st) < 0) return kerr_set(err, ENOENT, "container \"%s\" does not exist (no %s)", id, dir);
    return kerr_set(err, errno != 0 ? errno : EINVAL, "container \"%s\": read %s: %s", id, path, jerr.text);
  }
  _cleanup_state_ struct state *s = calloc(1, sizeof *s);
  if (s == NULL || (s->dir = strdup(dir)) == NULL) return kerr_set(err, ENOMEM, "load state");
  json_int_t pid = 0, version = 0, start = 0, mpid = 0, mstart = 0;
  json_t *dirs = NULL;
  if (json_unpack_ex(json, &jerr, 0, "{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:I, s:o}", "id", &s->id, "bundle",
                     &s->bundle, "pid", &pid, "pidStartTime", &start, "monitorPid", &mpid, "monitorStartTime", &mstart, "logPath", &s->log_path, "cgroupVersion", &version,
                     "cgroupDirs", &dirs) < 0)
    return kerr_set(err, EINVAL, "%s: %s", path, jerr.text);
  s->pid = (pid_t)pid;
  s->start_time = (unsigned long long)start;
  s->monitor_pid = (pid_t)mpid;
  s->monitor_start_time = (unsigned long long)mstart;
  s->cgroup_version = (int)version;
  size_t i;
  json_t *d;
  json_array_foreach(dirs, i, d) {
    if (!json_is_string(d) || i >= 16) return kerr_set(err, EINVAL, "%s: cgroupDirs[%zu]", path, i);
    s->cgroup_dirs[i] = (char *)json_string_value(d);
    s->n_cgroup_dirs = i + 1;
  }
  s->json = steal_ptr(&json);
  *out = steal_ptr(&s);
  return 0;
}

void state_free(struct state *s) {
  if (s->json != NULL) json_decref(s->json);
  free(s->dir);
  free(s);
}

json_t *state_exit(const struct state *s) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/exit.json", s->dir);
  return json_load_file(path, 0, NULL);
}

const char *state_status(const struct state *s) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/exit.json", s->dir);
  if (access(path, F_OK) == 0) return "stopped";
  if (state_proc_start_time(s->pid) != s->start_time)
    return state_proc_start_time(s->monitor_pid) == s->monitor_start_time ? "running" : "stopped";
  snprintf(path, sizeof path, "%s/exec.fifo", s->dir);
  return access(path, F_OK) == 0 ? "created" : "running";
}

int state_remove_dir(const char *dir, struct kerr *err) {
  _cleanup_dir_ DIR *d = opendir(dir);
  if (d == NULL) return errno == ENOENT ? 0 : kerr_set(err, errno, "open state dir %s", dir);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
      return kerr_set(err, errno, "remove %s/%s", dir, e->d_name);
  }
  if (rmdir(dir) < 0 && errno != ENOENT) return kerr_set(err, errno, "remove state dir %s", dir);
  return 0;
}
