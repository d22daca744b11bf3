/**
 * The OCI runtime config (`config.json`) of one container, from its Kubernetes container spec
 * (command/args already expanded, env already resolved by the pod worker) and its image's config:
 * the process (args, env, cwd, user), the pod's namespaces, the standard mounts plus the pod's files
 * and volumes, Docker's default capabilities, runc's masked and read-only paths, and cgroup resources.
 * Building the object is pure; {@link writeBundle} resolves user names against the rootfs and writes
 * the file atomically.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { quantityMilliValue, quantityValue } from "../../../controlplane/api/quantity.js";
import type { ResourceRequirements } from "../../../proto/gen/api.js";
import type { RuntimeConfig } from "../images/index.js";
import { RuntimeError } from "./errors.js";

/** Docker's default capability set. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
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

/** runc's default masked paths. */
export const MASKED_PATHS: readonly string[] = [
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

/** runc's default read-only paths. */
export const READONLY_PATHS: readonly string[] = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** CFS period the quota is expressed in, as the kubelet uses. */
export const CPU_PERIOD_US = 100_000;
/** The kubelet's minimum CFS quota and share values. */
const MIN_QUOTA_US = 1000;
const MIN_SHARES = 2;
const MAX_SHARES = 262_144;

export interface BindMount {
  source: string;
  destination: string;
  readOnly?: boolean;
}

export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface ContainerBundleSpec {
  /** The merged rootfs (`Rootfs.path` from the image store). */
  rootfs: string;
  image: Pick<RuntimeConfig, "entrypoint" | "cmd" | "env" | "workingDir" | "user">;
  /** `command` and `args` of the container, `$(VAR)` references already expanded. */
  command?: readonly string[];
  args?: readonly string[];
  /** The container's resolved env, in order; it overrides the image's variables of the same name. */
  env: readonly { name: string; value: string }[];
  workingDir?: string;
  /** The pod's hostname (the pod name unless `spec.hostname`). */
  hostname: string;
  /** The pod sandbox's network namespace. */
  netnsPath: string;
  /** Pod files (/etc/hosts, resolv.conf, hostname) and volumes, in mount order. */
  mounts: readonly BindMount[];
  resources?: ResourceRequirements;
  /** Absolute cgroup path (see `containerCgroupPath`). */
  cgroupsPath: string;
  pidsLimit?: number;
  annotations?: Record<string, string>;
}

export type OciConfig = Record<string, unknown>;

/**
 * The process args as Kubernetes defines them: `command` replaces the image's entrypoint (and drops
 * its cmd), `args` replaces the cmd. Throws `Invalid` when nothing is left to run.
 */
export function processArgs(
  image: Pick<RuntimeConfig, "entrypoint" | "cmd">,
  command: readonly string[] | undefined,
  args: readonly string[] | undefined,
): string[] {
  let argv: string[];
  if (command !== undefined && command.length > 0) argv = [...command, ...(args ?? [])];
  else if (args !== undefined && args.length > 0) argv = [...image.entrypoint, ...args];
  else argv = [...image.entrypoint, ...image.cmd];
  if (argv.length === 0) {
    throw new RuntimeError("Invalid", "command: neither the container nor its image says what to run");
  }
  return argv;
}

/** Image env, then the container's: a later variable replaces an earlier one of the same name in place. */
export function processEnv(
  hostname: string,
  imageEnv: readonly string[],
  env: readonly { name: string; value: string }[],
): string[] {
  const out = new Map<string, string>();
  const put = (entry: string) => {
    const eq = entry.indexOf("=");
    out.set(eq < 0 ? entry : entry.slice(0, eq), entry);
  };
  put(DEFAULT_PATH);
  put(`HOSTNAME=${hostname}`);
  for (const e of imageEnv) put(e);
  for (const e of env) put(`${e.name}=${e.value}`);
  return [...out.values()];
}

/**
 * cgroup resources from the container's requests and limits, as the kubelet sets them:
 * limits.memory → memory limit (no swap); limits.cpu → quota over a 100 ms period;
 * requests.cpu → shares. Worked numbers: limits.cpu 250m → quota 25000 µs per 100000 µs;
 * requests.cpu 250m → shares 256 (1024 per core); no request → the minimum, 2 shares.
 */
export function cgroupResources(
  resources: ResourceRequirements | undefined,
  pidsLimit: number | undefined,
  where = "resources",
): Record<string, unknown> {
  const out: Record<string, unknown> = { devices: [{ allow: false, access: "rwm" }] };
  const quantity = (field: string, value: string, milli: boolean): number => {
    try {
      return milli ? quantityMilliValue(value) : quantityValue(value);
    } catch (err) {
      throw new RuntimeError("Invalid", `${where}.${field}: ${(err as Error).message}`, { cause: err });
    }
  };
  const memory = resources?.limits?.memory;
  if (memory !== undefined) {
    const bytes = Math.floor(quantity("limits.memory", memory, false));
    out.memory = { limit: bytes, swap: bytes };
  }
  const cpu: Record<string, number> = {};
  const cpuLimit = resources?.limits?.cpu;
  if (cpuLimit !== undefined) {
    cpu.quota = Math.max(MIN_QUOTA_US, (quantity("limits.cpu", cpuLimit, true) * CPU_PERIOD_US) / 1000);
    cpu.period = CPU_PERIOD_US;
  }
  const cpuRequest = resources?.requests?.cpu ?? cpuLimit;
  const milli = cpuRequest === undefined ? 0 : quantity("requests.cpu", cpuRequest, true);
  cpu.shares = Math.min(MAX_SHARES, Math.max(MIN_SHARES, Math.floor((milli * 1024) / 1000)));
  out.cpu = cpu;
  if (pidsLimit !== undefined) out.pids = { limit: pidsLimit };
  return out;
}

function standardMounts(): object[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
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
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
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
}

/** The config.json object. `user` is the resolved image or container user. */
export function buildOciConfig(spec: ContainerBundleSpec, user: ProcessUser): OciConfig {
  const caps = [...DEFAULT_CAPABILITIES];
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user,
      args: processArgs(spec.image, spec.command, spec.args),
      env: processEnv(spec.hostname, spec.image.env, spec.env),
      cwd: spec.workingDir || spec.image.workingDir || "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      // Docker leaves no_new_privs off so setuid binaries in images keep working.
      noNewPrivileges: false,
    },
    root: { path: spec.rootfs, readonly: false },
    hostname: spec.hostname,
    mounts: [
      ...standardMounts(),
      ...spec.mounts.map((m) => ({
        destination: m.destination,
        type: "bind",
        source: m.source,
        options: ["rbind", "rprivate", m.readOnly ? "ro" : "rw"],
      })),
    ],
    ...(spec.annotations !== undefined && { annotations: spec.annotations }),
    linux: {
      namespaces: [
        { type: "pid" },
        { type: "network", path: spec.netnsPath },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "cgroup" },
      ],
      cgroupsPath: spec.cgroupsPath,
      resources: cgroupResources(spec.resources, spec.pidsLimit),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
}

/**
 * The uid/gid of an image `User` (`""`, `uid`, `uid:gid`, `name`, `name:group`), names looked up in
 * the rootfs's /etc/passwd and /etc/group like Docker does. Throws `Invalid` naming the user when a
 * name is not found there.
 */
export async function resolveUser(rootfs: string, user: string): Promise<ProcessUser> {
  if (user === "") return { uid: 0, gid: 0 };
  const [userPart = "", groupPart] = user.split(":", 2);
  const numeric = (s: string) => (/^\d+$/.test(s) ? Number(s) : undefined);
  let uid = numeric(userPart);
  let gid: number | undefined;
  if (uid === undefined) {
    const entry = (await readDb(rootfs, "passwd")).find((f) => f[0] === userPart);
    if (entry === undefined) {
      throw new RuntimeError("Invalid", `user "${user}": no user "${userPart}" in the image's /etc/passwd`);
    }
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  } else {
    const entry = (await readDb(rootfs, "passwd")).find((f) => Number(f[2]) === uid);
    gid = entry !== undefined ? Number(entry[3]) : uid === 0 ? 0 : uid;
  }
  if (groupPart !== undefined) {
    gid = numeric(groupPart);
    if (gid === undefined) {
      const entry = (await readDb(rootfs, "group")).find((f) => f[0] === groupPart);
      if (entry === undefined) {
        throw new RuntimeError(
          "Invalid",
          `user "${user}": no group "${groupPart}" in the image's /etc/group`,
        );
      }
      gid = Number(entry[2]);
    }
  }
  return { uid, gid: gid ?? 0 };
}

async function readDb(rootfs: string, name: "passwd" | "group"): Promise<string[][]> {
  try {
    const text = await readFile(join(rootfs, "etc", name), "utf8");
    return text
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"))
      .map((l) => l.split(":"));
  } catch {
    return [];
  }
}

/** Writes `<dir>/config.json` (dir created) atomically and returns the config. */
export async function writeBundle(dir: string, spec: ContainerBundleSpec): Promise<OciConfig> {
  const user = await resolveUser(spec.rootfs, spec.image.user);
  const config = buildOciConfig(spec, user);
  await mkdir(dir, { recursive: true });
  const path = join(dir, "config.json");
  const temp = `${path}.tmp-${randomBytes(4).toString("hex")}`;
  await writeFile(temp, JSON.stringify(config));
  await rename(temp, path);
  return config;
}
