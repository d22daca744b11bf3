/* The effective device rules and their cgroup v1 form (see devices.h); the eBPF form is ebpf.c. */
#define _GNU_SOURCE
#include "devices.h"

#include <stdio.h>

#include "cgroup.h"

/* What runc and crun give every container: mknod of anything (a node is useless without a rule
 * allowing its use, and /dev and the rootfs are nodev anyway), the default /dev nodes, /dev/tty,
 * /dev/console, ptmx and the pty slaves. */
static const struct device_rule defaults[] = {
    {true, 'c', -1, -1, DEVICE_ACCESS_MKNOD}, {true, 'b', -1, -1, DEVICE_ACCESS_MKNOD},
    {true, 'c', 1, 3, DEVICE_ACCESS_ALL},     {true, 'c', 1, 5, DEVICE_ACCESS_ALL},
    {true, 'c', 1, 7, DEVICE_ACCESS_ALL},     {true, 'c', 1, 8, DEVICE_ACCESS_ALL},
    {true, 'c', 1, 9, DEVICE_ACCESS_ALL},     {true, 'c', 5, 0, DEVICE_ACCESS_ALL},
    {true, 'c', 5, 1, DEVICE_ACCESS_ALL},     {true, 'c', 5, 2, DEVICE_ACCESS_ALL},
    {true, 'c', 136, -1, DEVICE_ACCESS_ALL},
};

size_t devices_count(const struct resources_spec *r) { return r->n_devices + sizeof defaults / sizeof defaults[0]; }

const struct device_rule *devices_rule(const struct resources_spec *r, size_t i) {
  return i < r->n_devices ? &r->devices[i] : &defaults[i - r->n_devices];
}

static void v1_line(const struct device_rule *d, char *out, size_t len) {
  char major[24] = "*", minor[24] = "*", access[4];
  size_t n = 0;
  if (d->type == 'a') {
    snprintf(out, len, "a");
    return;
  }
  if (d->major >= 0) snprintf(major, sizeof major, "%lld", (long long)d->major);
  if (d->minor >= 0) snprintf(minor, sizeof minor, "%lld", (long long)d->minor);
  if (d->access & DEVICE_ACCESS_READ) access[n++] = 'r';
  if (d->access & DEVICE_ACCESS_WRITE) access[n++] = 'w';
  if (d->access & DEVICE_ACCESS_MKNOD) access[n++] = 'm';
  access[n] = '\0';
  snprintf(out, len, "%c %s:%s %s", d->type, major, minor, access);
}

int devices_apply_v1(const char *dir, const struct resources_spec *r, struct kerr *err) {
  if (cgroup_write(dir, "devices.deny", "a", err) < 0) return -1;
  for (size_t i = 0; i < devices_count(r); i++) {
    const struct device_rule *d = devices_rule(r, i);
    char line[64];
    v1_line(d, line, sizeof line);
    if (cgroup_write(dir, d->allow ? "devices.allow" : "devices.deny", line, err) < 0) {
      if (i < r->n_devices) return kerr_wrap(err, "linux.resources.devices[%zu]", i);
      return -1;
    }
  }
  return 0;
}
