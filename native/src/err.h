/* Errors as values: a failing function fills a struct kerr (errno + message with context) and returns
 * -1; callers add their own context with kerr_wrap and pass it up. Only main prints. */
#pragma once

#include <stddef.h>

struct kerr {
  int errnum;     /* errno of the failing call, 0 for a validation error */
  char msg[1536]; /* "step path-or-value" from the innermost to the outermost context */
};

/* Sets the error to errnum and the formatted message; returns -1. */
int kerr_set(struct kerr *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the message with "context: "; returns -1. */
int kerr_wrap(struct kerr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Renders "msg: strerror (errno N)" into buf. */
void kerr_format(const struct kerr *e, char *buf, size_t len);
