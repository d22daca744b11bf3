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
