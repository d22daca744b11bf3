/* Owned resources released by scope: declare with _cleanup_free_ / _cleanup_close_ / _cleanup_json_
 * / _cleanup_file_ / _cleanup_dir_ and every early return frees them. Hand ownership out by setting
 * the variable to NULL or -1 (see steal_fd / steal_ptr). */
#pragma once

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p) { free(*(void **)p); }
static inline void cleanup_closep(int *fd) {
  if (*fd >= 0) close(*fd);
}
static inline void cleanup_jsonp(json_t **j) {
  if (*j != NULL) json_decref(*j);
}
static inline void cleanup_filep(FILE **f) {
  if (*f != NULL) fclose(*f);
}
static inline void cleanup_dirp(DIR **d) {
  if (*d != NULL) closedir(*d);
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_json_ __attribute__((cleanup(cleanup_jsonp)))
#define _cleanup_file_ __attribute__((cleanup(cleanup_filep)))
#define _cleanup_dir_ __attribute__((cleanup(cleanup_dirp)))

static inline int steal_fd(int *fd) {
  int r = *fd;
  *fd = -1;
  return r;
}

static inline void *steal_ptr(void *pp) {
  void **p = pp;
  void *r = *p;
  *p = NULL;
  return r;
}
