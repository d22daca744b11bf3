/* The field checks every config.json parser shares (spec.c for the runtime config, seccomp.c for
 * its linux.seccomp object), so that each refuses what it does not know in the same words: an
 * unknown key, a missing required member or one of the wrong JSON type is an error naming its field
 * path, "config.json: <path>.<key>: ...". */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "err.h"

/* Whether key is one of allowed (NULL-terminated). */
bool json_util_in_list(const char *key, const char *const *allowed);

/* Refuses the first key of obj that is not in allowed (NULL-terminated) as an unsupported field. */
int json_util_check_keys(json_t *obj, const char *path, const char *const *allowed, struct kerr *err);

/* Looks up obj.key, borrowed into *out; a missing or null member is *out = NULL, an error only when
 * required. The member must be of JSON type `type` (JSON_TRUE: either boolean). */
int json_util_member(json_t *obj, const char *key, const char *path, json_type type, bool required, json_t **out,
                     struct kerr *err);
