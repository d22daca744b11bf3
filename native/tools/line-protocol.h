/* line-protocol: the request and answer lines the node agent's long-lived helpers speak
 * (node-agent/util/native-helper.ts is the other end), in one place for every helper.
 *
 * A request is one line on stdin: an id, then the request's fields, separated by tabs (an empty
 * field is kept). Its answer is one line on stdout: the same id, then `ok` (a tab and a value after
 * it, for requests that return one) or `err<TAB>message`. The id lets answers come in any order:
 * a helper that serves requests concurrently answers each as it finishes.
 */
#ifndef KCTL_LINE_PROTOCOL_H
#define KCTL_LINE_PROTOCOL_H

#include <stddef.h>

/* A request's fields after its id, NULL-terminated (fields[n] == NULL). */
typedef void lp_handler(const char *id, char **fields, int n);

/* Reads requests from stdin until EOF, calling `handle` for each one of at most `max_fields`
 * fields after its id; answers a longer one with an error itself. Returns 0 at EOF, -1 when stdin
 * fails. */
int lp_serve(int max_fields, lp_handler *handle);

/* Writes `buf` to fd 1 whole. An answer of at most PIPE_BUF bytes is one write() on the pipe,
 * which the kernel never interleaves with another writer's: concurrent answers stay whole lines.
 * Returns 0, or -1 with errno (EPIPE once the agent is gone; SIGPIPE must be ignored). */
int lp_write_answer(const char *buf, size_t len);

/* Answers `id` with `ok`, and `<TAB>value` when value is not NULL. */
void lp_ok(const char *id, const char *value);

/* Answers `id` with `err<TAB>` and the formatted message (tabs and line breaks in it become
 * spaces, so the answer stays one line of three fields). */
__attribute__((format(printf, 2, 3))) void lp_err(const char *id, const char *fmt, ...);

#endif
