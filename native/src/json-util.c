/* Shared config.json field checks (see json-util.h). */
#include "json-util.h"

#include <string.h>

#define CFG "config.json"

bool json_util_in_list(const char *key, const char *const *allowed) {
  for (size_t i = 0; allowed[i] != NULL; i++)
    if (strcmp(key, allowed[i]) == 0) return true;
  return false;
}

int json_util_check_keys(json_t *obj, const char *path, const char *const *allowed, struct kerr *err) {
  const char *key;
  json_t *value;
  json_object_foreach(obj, key, value) {
    (void)value;
    if (!json_util_in_list(key, allowed)) return kerr_set(err, 0, CFG ": %s.%s: unsupported field", path, key);
  }
  return 0;
}

int json_util_member(json_t *obj, const char *key, const char *path, json_type type, bool required, json_t **out,
                     struct kerr *err) {
  static const char *const names[] = {"an object", "an array", "a string", "an integer",
                                      "a number",  "a boolean", "a boolean", "null"};
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (v == NULL || json_is_null(v)) {
    if (required) return kerr_set(err, 0, CFG ": %s.%s: required", path, key);
    return 0;
  }
  bool ok = json_typeof(v) == type || (type == JSON_TRUE && json_is_boolean(v));
  if (!ok) return kerr_set(err, 0, CFG ": %s.%s: must be %s", path, key, names[type]);
  *out = v;
  return 0;
}
