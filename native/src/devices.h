/* Device access of a container: the rules of linux.resources.devices in order, then the devices
 * every container gets (the default /dev nodes, ptys, and mknod of anything, as runc and crun
 * allow). The last matching rule decides; a device no rule matches is denied. Enforced by the v1
 * devices controller or, on cgroup v2, by an eBPF program attached to the container's cgroup. */
#pragma once

#include <stddef.h>

#include "err.h"
#include "spec.h"

/* Number of effective rules for r, and the i-th of them (spec rules first, then the defaults). */
size_t devices_count(const struct resources_spec *r);
const struct device_rule *devices_rule(const struct resources_spec *r, size_t i);

/* v1: "a" denied in <dir>/devices.deny, then every rule written to devices.allow or devices.deny. */
int devices_apply_v1(const char *dir, const struct resources_spec *r, struct kerr *err);

/* v2: loads the rules as a BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to the cgroup2
 * directory dir (BPF_F_ALLOW_MULTI, so the programs of the ancestors still apply). The program
 * stays attached for the life of the cgroup. */
int devices_attach_bpf(const char *dir, const struct resources_spec *r, struct kerr *err);
