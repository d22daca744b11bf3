/**
 * The OCI config.json of a pod's container: the image's config overridden by the container spec
 * like Kubernetes (command replaces ENTRYPOINT, args replace CMD), the pod's network namespace,
 * its /etc/hosts, resolv.conf and hostname, volumes as bind mounts, resource limits as cgroup
 * limits, Docker's default capabilities and runc's masked and read-only paths.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Docker's default capability set. */
export const defaultCapabilities = [
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

export const maskedPaths = [
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
];

export const readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** The filesystems every container gets: /proc, a tmpfs /dev with pts, shm and mqueue, /sys read-only. */
export const defaultMounts = [
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
  { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
  { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
];

export interface BindMount {
  source: string;
  destination: string;
  readOnly?: boolean;
}

export interface ContainerConfigInput {
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  hostname: string;
  /** Path of the pod's network namespace (a bind mount). */
  netnsPath: string;
  cgroupsPath: string;
  logPath: string;
  mounts: BindMount[];
  /** Bytes; undefined for no limit. */
  memoryLimit?: number;
  /** CPU limit in millicores → quota per 100 ms period. */
  cpuLimitMilli?: number;
  /** CPU request in millicores → shares (1024 per core, at least 2). */
  cpuRequestMilli?: number;
  pidsLimit?: number;
}

const cpuPeriod = 100_000;

export function containerConfig(c: ContainerConfigInput): Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  if (c.memoryLimit !== undefined) resources.memory = { limit: c.memoryLimit };
  const cpu: Record<string, number> = {};
  // limits.cpu=500m → quota 50000 per 100000 µs period, like the kubelet.
  if (c.cpuLimitMilli !== undefined)
    Object.assign(cpu, {
      quota: Math.max(1000, Math.round((c.cpuLimitMilli * cpuPeriod) / 1000)),
      period: cpuPeriod,
    });
  if (c.cpuRequestMilli !== undefined)
    cpu.shares = Math.max(2, Math.round((c.cpuRequestMilli * 1024) / 1000));
  if (Object.keys(cpu).length) resources.cpu = cpu;
  if (c.pidsLimit !== undefined) resources.pids = { limit: c.pidsLimit };
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: c.args,
      env: c.env,
      cwd: c.cwd,
      capabilities: {
        bounding: defaultCapabilities,
        effective: defaultCapabilities,
        permitted: defaultCapabilities,
      },
      noNewPrivileges: false,
    },
    root: { path: c.rootfs, readonly: false },
    hostname: c.hostname,
    annotations: { "io.kctl.shim.log-path": c.logPath },
    mounts: [
      ...defaultMounts,
      ...c.mounts.map((m) => ({
        destination: m.destination,
        type: "bind",
        source: m.source,
        options: ["rbind", m.readOnly ? "ro" : "rw"],
      })),
    ],
    linux: {
      namespaces: [
        { type: "pid" },
        { type: "network", path: c.netnsPath },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
      ],
      cgroupsPath: c.cgroupsPath,
      resources,
      maskedPaths,
      readonlyPaths,
    },
  };
}

/** Writes `<dir>/config.json` and returns `dir`. */
export async function writeContainerBundle(dir: string, c: ContainerConfigInput): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "config.json"), JSON.stringify(containerConfig(c)));
  return dir;
}
