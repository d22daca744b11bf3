/* line-protocol: see line-protocol.h. */
#define _GNU_SOURCE
#include "line-protocol.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Splits `line` at tabs in place into `fields` (room for max + 1), keeping empty fields, and
 * NULL-terminates them; returns how many, or -1 when there are more than `max`. */
static int split(char *line, char **fields, int max) {
  int n = 0;
  for (char *rest = line, *tok; (tok = strsep(&rest, "\t"));) {
    if (n == max) return -1;
    fields[n++] = tok;
  }
  fields[n] = NULL;
  return n;
}

int lp_write_answer(const char *buf, size_t len) {
  while (len > 0) {
    ssize_t w = write(STDOUT_FILENO, buf, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Writes `id<TAB>status[<TAB>value]\n` as one answer. */
static void answer(const char *id, const char *status, const char *value) {
  char *line = NULL;
  int len = value ? asprintf(&line, "%s\t%s\t%s\n", id, status, value) : asprintf(&line, "%s\t%s\n", id, status);
  if (len < 0) {
    /* Out of memory: the id alone still tells the agent which request failed. */
    char fallback[128];
    len = snprintf(fallback, sizeof fallback, "%.64s\terr\tout of memory\n", id);
    lp_write_answer(fallback, (size_t)len);
    return;
  }
  lp_write_answer(line, (size_t)len);
  free(line);
}

void lp_ok(const char *id, const char *value) { answer(id, "ok", value); }

void lp_err(const char *id, const char *fmt, ...) {
  char message[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  for (char *p = message; *p; p++)
    if (*p == '\t' || *p == '\n' || *p == '\r') *p = ' ';
  answer(id, "err", message);
}

int lp_serve(int max_fields, lp_handler *handle) {
  /* The id, max_fields fields and the NULL after them. */
  char **fields = calloc((size_t)max_fields + 2, sizeof *fields);
  if (!fields) return -1;
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, stdin)) > 0) {
    if (line[len - 1] == '\n') line[len - 1] = '\0';
    int n = split(line, fields, max_fields + 1);
    if (n < 0)
      lp_err(fields[0], "more than %d fields", max_fields);
    else
      handle(fields[0], fields + 1, n - 1);
  }
  int failed = ferror(stdin) ? -1 : 0;
  free(line);
  free(fields);
  return failed;
}
