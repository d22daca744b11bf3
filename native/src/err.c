/* Error values: formatting and context chaining for struct kerr. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int kerr_set(struct kerr *e, int errnum, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  e->errnum = errnum;
  return -1;
}

int kerr_wrap(struct kerr *e, const char *fmt, ...) {
  char prefix[512];
  char old[sizeof e->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, e->msg, sizeof old);
  snprintf(e->msg, sizeof e->msg, "%s: %s", prefix, old);
  return -1;
}

void kerr_format(const struct kerr *e, char *buf, size_t len) {
  if (e->errnum != 0)
    snprintf(buf, len, "%s: %s (errno %d)", e->msg, strerror(e->errnum), e->errnum);
  else
    snprintf(buf, len, "%s", e->msg);
}
