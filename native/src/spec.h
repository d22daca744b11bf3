/* The supported subset of an OCI runtime config.json, parsed and validated up front so that no
 * isolation-relevant field is ignored: anything outside the subset is an error naming its field
 * path. Strings point into the owned JSON tree; free with spec_free. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "err.h"
#include "seccomp.h"

enum cap_set { CAPS_BOUNDING, CAPS_EFFECTIVE, CAPS_INHERITABLE, CAPS_PERMITTED, CAPS_AMBIENT, CAPS_NSETS };

struct mount_spec {
  const char *destination;
  const char *type;
  const char *source;
  unsigned long flags;       /* MS_* from options, without MS_BIND/MS_REC/MS_RDONLY for binds */
  unsigned long propagation; /* MS_PRIVATE/MS_SLAVE/MS_SHARED (+MS_REC) or 0 */
  bool bind;
  bool recursive;
  bool readonly;
  char *data; /* comma-joined filesystem options (mode=755, size=...) */
  bool idmap;    /* option "idmap": the source's ids seen through the container's user namespace */
  int idmap_fd;  /* in the init: the idmapped tree the monitor made for it (see mount.h) */
};

struct namespace_spec {
  int flag;         /* CLONE_NEW* */
  const char *path; /* join this namespace instead of making one, or NULL */
};

/* One line of uid_map/gid_map: size ids from container_id map to host ids from host_id. */
struct id_mapping {
  uint32_t container_id;
  uint32_t host_id;
  uint32_t size;
};

struct rlimit_spec {
  int resource;
  struct rlimit value;
};

struct process_spec {
  const char **args; /* NULL-terminated */
  const char **env;  /* NULL-terminated */
  const char *cwd;
  uid_t uid;
  gid_t gid;
  gid_t *additional_gids;
  size_t n_additional_gids;
  bool has_caps;
  uint64_t caps[CAPS_NSETS];
  bool no_new_privileges;
  struct rlimit_spec *rlimits;
  size_t n_rlimits;
  bool has_oom_score_adj;
  int oom_score_adj;
};

/* One rule of linux.resources.devices (the OCI allowlist, cgroup v1 semantics). */
struct device_rule {
  bool allow;
  char type;       /* 'a' (all), 'b' or 'c' */
  int64_t major;   /* -1: any */
  int64_t minor;   /* -1: any */
  unsigned access; /* DEVICE_ACCESS_* */
};

enum { DEVICE_ACCESS_MKNOD = 1, DEVICE_ACCESS_READ = 2, DEVICE_ACCESS_WRITE = 4, DEVICE_ACCESS_ALL = 7 };

struct resources_spec {
  int64_t memory_limit; /* bytes, -1 unset */
  int64_t memory_swap;  /* bytes of memory+swap, -1 unset */
  int64_t cpu_quota;    /* microseconds per period, -1 unset */
  uint64_t cpu_period;  /* microseconds, 0 unset */
  uint64_t cpu_shares;  /* 0 unset */
  int64_t pids_limit;   /* 0 unset, -1 unlimited */
  struct device_rule *devices; /* in the listed order; the default devices come on top (devices.h) */
  size_t n_devices;
};

struct spec {
  json_t *json;
  char *bundle;
  char *rootfs; /* absolute */
  bool root_readonly;
  const char *hostname;
  const char *domainname;
  struct process_spec process;
  struct mount_spec *mounts;
  size_t n_mounts;
  struct namespace_spec namespaces[8];
  size_t n_namespaces;
  int clone_flags; /* namespaces to create */
  struct resources_spec resources;
  const char *cgroups_path;
  const char **masked_paths;
  size_t n_masked_paths;
  const char **readonly_paths;
  size_t n_readonly_paths;
  unsigned long rootfs_propagation;
  json_t *annotations; /* borrowed from json, may be NULL */
  /* Annotation io.kctl.rootfs.idmap=true with a user namespace: the rootfs is attached as an
   * idmapped tree (source = rootfs, recursive), so the image's files, owned by the host's root,
   * belong to the container's root, as containerd does for user-namespaced pods. NULL otherwise. */
  struct mount_spec *root_idmap;
  struct seccomp_filter *seccomp; /* linux.seccomp built, or NULL */
  struct id_mapping *uid_mappings; /* linux.uidMappings, with a user namespace */
  size_t n_uid_mappings;
  struct id_mapping *gid_mappings;
  size_t n_gid_mappings;
};

/* Loads <bundle>/config.json. On error no memory is held. */
int spec_load(const char *bundle, struct spec **out, struct kerr *err);
void spec_free(struct spec *s);
static inline void cleanup_specp(struct spec **s) {
  if (*s != NULL) spec_free(*s);
}
#define _cleanup_spec_ __attribute__((cleanup(cleanup_specp)))

/* Whether the spec asks for a namespace of this CLONE_NEW* kind (created or joined). */
const struct namespace_spec *spec_namespace(const struct spec *s, int flag);

/* Parses "CAP_SYS_ADMIN" into its number; -1 when unknown. */
int spec_cap_from_name(const char *name);

/* The process part alone, used by exec to re-read the identity of the container's process. */
int spec_parse_process(json_t *process, struct process_spec *out, struct kerr *err);
void process_spec_free(struct process_spec *p);
