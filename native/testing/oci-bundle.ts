/**
 * Writes OCI bundles (config.json next to a rootfs) for the shim, crun and runc tests and the
 * benchmark. The defaults are what the node agent will ask for: pid/mount/uts/ipc/net namespaces,
 * Docker's default capability set, runc's masked and read-only paths.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Docker's default capabilities; CapEff of a root process holding exactly these is a80425fb. */
export const DEFAULT_CAPS = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];
export const DEFAULT_CAP_EFF = "00000000a80425fb";

export interface BundleOptions {
  /** Absolute path of the rootfs (shared between bundles; /dev is a tmpfs so nothing is written). */
  rootfs: string;
  args: string[];
  /** Absolute cgroupsPath (see testCgroupParent) so that every runtime places it the same way. */
  cgroupsPath: string;
  hostname?: string;
  env?: string[];
  /** Join this network namespace instead of making one. */
  netnsPath?: string;
  memoryLimit?: number;
  pidsLimit?: number;
  /** Extra mounts appended after the defaults. */
  mounts?: object[];
  /** Last-minute edits of the generated config (for bad-input tests). */
  edit?: (config: Record<string, unknown>) => void;
}

/** The config.json object for these options. */
export function ociConfig(o: BundleOptions): Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  if (o.memoryLimit !== undefined) resources.memory = { limit: o.memoryLimit, swap: o.memoryLimit };
  if (o.pidsLimit !== undefined) resources.pids = { limit: o.pidsLimit };
  const config: Record<string, unknown> = {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: o.args,
      env: o.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: {
        bounding: DEFAULT_CAPS,
        effective: DEFAULT_CAPS,
        permitted: DEFAULT_CAPS,
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: o.rootfs, readonly: false },
    hostname: o.hostname ?? "kshim",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
      },
      {
        destination: "/dev/shm",
        type: "tmpfs",
        source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
      },
      {
        destination: "/dev/mqueue",
        type: "mqueue",
        source: "mqueue",
        options: ["nosuid", "noexec", "nodev"],
      },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      ...(o.mounts ?? []),
    ],
    linux: {
      namespaces: [
        { type: "pid" },
        o.netnsPath !== undefined ? { type: "network", path: o.netnsPath } : { type: "network" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
      ],
      cgroupsPath: o.cgroupsPath,
      resources,
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
  o.edit?.(config);
  return config;
}

/** Writes <dir>/config.json (dir is created) and returns dir. */
export async function writeBundle(dir: string, o: BundleOptions): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "config.json"), JSON.stringify(ociConfig(o), null, 2));
  return dir;
}
