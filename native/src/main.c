/* kshim: an OCI runtime subset. Parses the command line, runs one command, and is the only place
 * that prints errors (to stderr and, with --log, to that file). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "container.h"
#include "err.h"
#include "self-exe.h"
#include "state.h"

static const char usage[] =
    "usage: kshim [--root DIR] [--log FILE] [--allow-root-cgroup] COMMAND ...\n"
    "  create ID --bundle DIR [--pid-file FILE]\n"
    "  start ID\n"
    "  state ID\n"
    "  kill ID [SIGNAL]\n"
    "  delete [--force] ID\n"
    "  run ID --bundle DIR [--pid-file FILE] [--detach]\n"
    "  exec ID [--cwd DIR] [--env KEY=VALUE]... [--tty [--resize-fd N]] -- CMD [ARG]...\n";

static const struct {
  const char *name;
  int sig;
} signals[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
               {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"ALRM", SIGALRM},
               {"PIPE", SIGPIPE}, {"ABRT", SIGABRT}, {"WINCH", SIGWINCH}};

static int parse_signal(const char *s, int *out, struct kerr *err) {
  if (isdigit((unsigned char)s[0])) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || v <= 0 || v >= NSIG) return kerr_set(err, 0, "kill: signal \"%s\" is out of range", s);
    *out = (int)v;
    return 0;
  }
  const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (strcasecmp(name, signals[i].name) == 0) {
      *out = signals[i].sig;
      return 0;
    }
  return kerr_set(err, 0, "kill: unknown signal \"%s\"", s);
}

static void report(const char *log_file, const struct kerr *err) {
  char msg[2048];
  kerr_format(err, msg, sizeof msg);
  fprintf(stderr, "kshim: %s\n", msg);
  if (log_file == NULL) return;
  FILE *f = fopen(log_file, "ae");
  if (f == NULL) return;
  char ts[64];
  state_rfc3339_now(ts, sizeof ts);
  fprintf(f, "%s error %s\n", ts, msg);
  fclose(f);
}

/* Options of a command: "--name VALUE" or "--name=VALUE". Returns the value or NULL. */
static const char *option_value(int argc, char **argv, int *i, const char *name, struct kerr *err) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0) return NULL;
  if (argv[*i][n] == '=') return argv[*i] + n + 1;
  if (argv[*i][n] != '\0') return NULL;
  if (*i + 1 >= argc) {
    kerr_set(err, 0, "option %s needs a value", name);
    return NULL;
  }
  return argv[++*i];
}

int main(int argc, char **argv) {
  struct global_opts g = {.root = "/run/kshim"};
  const char *log_file = NULL;
  struct kerr err = {0};
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *v;
    if ((v = option_value(argc, argv, &i, "--root", &err)) != NULL) g.root = v;
    else if ((v = option_value(argc, argv, &i, "--log", &err)) != NULL) log_file = v;
    else if ((v = option_value(argc, argv, &i, "--log-format", &err)) != NULL) {
      if (strcmp(v, "text") != 0) kerr_set(&err, 0, "--log-format: only \"text\" is supported, not \"%s\"", v);
    } else if (strcmp(argv[i], "--allow-root-cgroup") == 0) g.allow_root_cgroup = true;
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (err.msg[0] == '\0') kerr_set(&err, 0, "unknown global option \"%s\"", argv[i]);
    if (err.msg[0] != '\0') break;
  }
  if (err.msg[0] == '\0' && i >= argc) kerr_set(&err, 0, "missing command");
  if (err.msg[0] != '\0') {
    report(log_file, &err);
    fputs(usage, stderr);
    return 2;
  }
  const char *cmd = argv[i++];
  /* the commands that run code inside a container do so from a sealed copy of this binary */
  if ((strcmp(cmd, "create") == 0 || strcmp(cmd, "run") == 0 || strcmp(cmd, "exec") == 0) &&
      self_exe_ensure_sealed(argv, &err) < 0) {
    report(log_file, &err);
    return 1;
  }
  const char *id = NULL, *bundle = NULL, *pid_file = NULL, *cwd = NULL, *sig_name = NULL;
  bool force = false, detach = false, tty = false;
  int resize_fd = -1;
  const char **env = calloc((size_t)argc + 1, sizeof *env);
  size_t n_env = 0;
  char **rest = NULL;
  for (; i < argc && err.msg[0] == '\0'; i++) {
    const char *v;
    if (strcmp(argv[i], "--") == 0) {
      rest = &argv[i + 1];
      break;
    }
    if ((v = option_value(argc, argv, &i, "--bundle", &err)) != NULL) bundle = v;
    else if ((v = option_value(argc, argv, &i, "--pid-file", &err)) != NULL) pid_file = v;
    else if ((v = option_value(argc, argv, &i, "--cwd", &err)) != NULL) cwd = v;
    else if ((v = option_value(argc, argv, &i, "--env", &err)) != NULL) {
      if (strchr(v, '=') == NULL) kerr_set(&err, 0, "--env \"%s\": must be KEY=VALUE", v);
      env[n_env++] = v;
    } else if ((v = option_value(argc, argv, &i, "--console-socket", &err)) != NULL)
      kerr_set(&err, 0, "--console-socket: terminals are not supported");
    else if (strcmp(cmd, "exec") == 0 && (strcmp(argv[i], "--tty") == 0 || strcmp(argv[i], "-t") == 0))
      tty = true;
    else if (strcmp(cmd, "exec") == 0 && (v = option_value(argc, argv, &i, "--resize-fd", &err)) != NULL) {
      char *end;
      long fd = strtol(v, &end, 10);
      if (*end != '\0' || end == v || fd < 3 || fd > 1023 || fcntl((int)fd, F_GETFD) < 0)
        kerr_set(&err, 0, "--resize-fd \"%s\": not an open file descriptor above 2", v);
      resize_fd = (int)fd;
    } else if (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0) force = true;
    else if (strcmp(cmd, "run") == 0 && (strcmp(argv[i], "--detach") == 0 || strcmp(argv[i], "-d") == 0))
      detach = true;
    else if (err.msg[0] == '\0' && argv[i][0] == '-' && argv[i][1] != '\0')
      kerr_set(&err, 0, "%s: unknown option \"%s\"", cmd, argv[i]);
    else if (err.msg[0] == '\0' && id == NULL) id = argv[i];
    else if (err.msg[0] == '\0' && strcmp(cmd, "exec") == 0) {
      rest = &argv[i];
      break;
    } else if (err.msg[0] == '\0' && strcmp(cmd, "kill") == 0 && sig_name == NULL) sig_name = argv[i];
    else if (err.msg[0] == '\0') kerr_set(&err, 0, "%s: unexpected argument \"%s\"", cmd, argv[i]);
  }
  int code = 0;
  if (err.msg[0] == '\0' && id == NULL) kerr_set(&err, 0, "%s: missing container id", cmd);
  if (err.msg[0] == '\0') {
    if (strcmp(cmd, "create") == 0 || strcmp(cmd, "run") == 0) {
      if (bundle == NULL) kerr_set(&err, 0, "%s: --bundle is required", cmd);
      else if (cmd[0] == 'c') code = container_create(&g, id, bundle, pid_file, &err) < 0 ? 1 : 0;
      else if (container_run(&g, id, bundle, pid_file, detach, &code, &err) < 0) code = 1;
    } else if (strcmp(cmd, "start") == 0) {
      code = container_start(&g, id, &err) < 0 ? 1 : 0;
    } else if (strcmp(cmd, "state") == 0) {
      json_t *state = NULL;
      if (container_state(&g, id, &state, &err) == 0) {
        char *text = json_dumps(state, JSON_INDENT(2));
        if (text != NULL) puts(text);
        free(text);
        json_decref(state);
      } else {
        code = 1;
      }
    } else if (strcmp(cmd, "kill") == 0) {
      int sig = SIGTERM;
      if (sig_name == NULL || parse_signal(sig_name, &sig, &err) == 0)
        code = container_kill(&g, id, sig, &err) < 0 ? 1 : 0;
    } else if (strcmp(cmd, "delete") == 0) {
      code = container_delete(&g, id, force, &err) < 0 ? 1 : 0;
    } else if (strcmp(cmd, "exec") == 0) {
      if (rest == NULL || rest[0] == NULL) kerr_set(&err, 0, "exec: missing command after the container id");
      else if (resize_fd >= 0 && !tty) kerr_set(&err, 0, "exec: --resize-fd needs --tty");
      else if (container_exec(&g, id, cwd, env, (const char *const *)rest, tty, resize_fd, &code, &err) < 0)
        code = 1;
    } else {
      kerr_set(&err, 0, "unknown command \"%s\"", cmd);
    }
  }
  free(env);
  if (err.msg[0] != '\0') {
    report(log_file, &err);
    return code != 0 ? code : 1;
  }
  return code;
}
