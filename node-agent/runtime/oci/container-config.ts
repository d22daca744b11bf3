/**
 * The OCI config.json of a pod's container: the image's config overridden by the container spec
 * like Kubernetes (command replaces ENTRYPOINT, args replace CMD), the pod's network namespace,
 * its /etc/hosts, resolv.conf and hostname, volumes as bind mounts, resource limits as cgroup
 * limits, and its identity and confinement as the security context decided them
 * (node-agent/pod-worker/security-context.ts): user, capabilities, no_new_privs, read-only root,
 * masked and read-only paths, seccomp, user namespace, privileged.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * containerd's default capability set for CRI containers (Docker's too): what a container has
 * before its securityContext adds or drops any. containerd 2.x's pkg/oci/spec.go history shows a
 * smaller set proposed and retracted (containerd#10435); the released CRI default is still these.
 */
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

/** containerd's default masked paths (pkg/oci/spec.go populateDefaultUnixSpec). */
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
  "/sys/devices/virtual/powercap",
  "/proc/scsi",
];

/** containerd's default read-only paths (same source). */
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

/** containerd's cgroup mount; only with a cgroup namespace, else it would show the host's tree. */
const cgroupMount = {
  destination: "/sys/fs/cgroup",
  type: "cgroup",
  source: "cgroup",
  options: ["ro", "nosuid", "noexec", "nodev"],
};

/** A container's identity and confinement, decided from its pod's and its own securityContext. */
export interface ContainerSecurity {
  user: { uid: number; gid: number; additionalGids: number[] };
  /** The bounding, effective and permitted sets (OCI names, CAP_ prefixed). */
  capabilities: string[];
  noNewPrivileges: boolean;
  readonlyRootfs: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** /sys and /sys/fs/cgroup read-write and every device allowed, on top of all capabilities. */
  privileged: boolean;
  /** `linux.seccomp` as the runtime takes it; no filter when absent. */
  seccomp?: object;
  /** A user namespace mapping container ids 0…size−1 to host ids hostId…hostId+size−1. */
  idRange?: { hostId: number; size: number };
}

/** The kubelet's containerLogMaxSize and containerLogMaxFiles: rotate past maxBytes, keep maxFiles. */
export interface LogRotation {
  maxBytes: number;
  maxFiles: number;
}

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
  /** When the runtime rotates the log (the node's containerLogMaxSize/MaxFiles); its defaults when absent. */
  logRotation?: LogRotation;
  /** An attachable stdin (the pod's `stdin`, with `stdinOnce` "once"); /dev/null when absent. */
  stdin?: "open" | "once";
  mounts: BindMount[];
  /** Bytes; undefined for no limit. */
  memoryLimit?: number;
  /** CPU limit in millicores → quota per 100 ms period. */
  cpuLimitMilli?: number;
  /** CPU request in millicores → shares (1024 per core, at least 2). */
  cpuRequestMilli?: number;
  pidsLimit?: number;
  security: ContainerSecurity;
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
  const sec = c.security;
  // Deny everything, then the runtime adds its default devices, as containerd writes it.
  resources.devices = [{ allow: sec.privileged === true, access: "rwm" }];
  const readWrite = (m: { options?: string[] }) => ({
    ...m,
    options: (m.options ?? []).map((o) => (o === "ro" ? "rw" : o)),
  });
  const systemMounts = [...defaultMounts, cgroupMount].map((m) => (sec.privileged ? readWrite(m) : m));
  const namespaces: Record<string, string>[] = [
    { type: "pid" },
    { type: "network", path: c.netnsPath },
    { type: "ipc" },
    { type: "uts" },
    { type: "mount" },
    { type: "cgroup" },
  ];
  const linux: Record<string, unknown> = {
    namespaces,
    cgroupsPath: c.cgroupsPath,
    resources,
    maskedPaths: sec.maskedPaths,
    readonlyPaths: sec.readonlyPaths,
  };
  if (sec.idRange) {
    namespaces.push({ type: "user" });
    const mapping = [{ containerID: 0, hostID: sec.idRange.hostId, size: sec.idRange.size }];
    Object.assign(linux, { uidMappings: mapping, gidMappings: mapping });
  }
  if (sec.seccomp) linux.seccomp = sec.seccomp;
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: sec.user,
      args: c.args,
      env: c.env,
      cwd: c.cwd,
      capabilities: {
        bounding: sec.capabilities,
        effective: sec.capabilities,
        permitted: sec.capabilities,
      },
      noNewPrivileges: sec.noNewPrivileges,
    },
    root: { path: c.rootfs, readonly: sec.readonlyRootfs },
    hostname: c.hostname,
    annotations: {
      "io.kctl.shim.log-path": c.logPath,
      ...(c.logRotation
        ? {
            "io.kctl.log.max-size": String(c.logRotation.maxBytes),
            "io.kctl.log.max-files": String(c.logRotation.maxFiles),
          }
        : {}),
      ...(c.stdin ? { "io.kctl.shim.stdin": c.stdin } : {}),
    },
    mounts: [
      ...systemMounts,
      ...c.mounts.map((m) => ({
        destination: m.destination,
        type: "bind",
        source: m.source,
        options: ["rbind", m.readOnly ? "ro" : "rw"],
      })),
    ],
    linux,
  };
}

/** Writes `<dir>/config.json` and returns `dir`. */
export async function writeContainerBundle(dir: string, c: ContainerConfigInput): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "config.json"), JSON.stringify(containerConfig(c)));
  return dir;
}
