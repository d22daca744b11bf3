/* The container's filesystem view, built inside its new mount namespace: the rootfs bind-mounted,
 * the spec's mounts resolved strictly inside the rootfs (a symlink in the image cannot point a
 * mount at the host), the default devices, pivot_root, then masked and read-only paths. A `cgroup`
 * mount shows the container's own cgroup (cg), through the cgroup namespace the init is in. */
#pragma once

#include "cgroup.h"
#include "err.h"
#include "spec.h"

/* Everything up to and including pivot_root and the masks; afterwards "/" is the rootfs. */
int mount_setup_rootfs(const struct spec *s, const struct cgroup *cg, struct kerr *err);

/* For a bind mount with the "idmap" option: a detached copy of its source (recursive for rbind)
 * whose ids are seen through userns_fd (open_tree + mount_setattr(MOUNT_ATTR_IDMAP)). Made by the
 * monitor, which has the host's CAP_SYS_ADMIN; the init attaches it in place of the bind. Fails,
 * naming field (mounts[i], root.path), where the kernel or the source's filesystem has no idmapped mounts: the
 * caller then has to give the volume (or rootfs) to the container's ids itself (chown). */
int mount_idmapped_tree(const struct mount_spec *m, const char *field, int userns_fd, struct kerr *err);

/* Creates the mount destinations missing in the rootfs (as mount_setup_rootfs would), for a user
 * namespace's init that cannot: in a rootfs that is not idmapped the image's directories belong
 * to the host's root. Run by the monitor, as the host's root, before the init is released. */
int mount_make_destinations(const struct spec *s, struct kerr *err);
