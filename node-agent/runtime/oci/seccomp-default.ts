/**
 * Seccomp profiles for pod containers, as Kubernetes names them in `securityContext.seccompProfile`:
 * `RuntimeDefault` is Docker's default profile (github.com/moby/profiles seccomp/default.json at
 * cd3bed8, May 2026; containerd's CRI default follows it), kept here as data in the same Docker
 * profile format;
 * `Localhost` is a profile file in that format on the node. Both are resolved for one container
 * into the OCI `linux.seccomp` object the runtime loads: rules whose `includes`/`excludes` name
 * capabilities, architectures or a minimum kernel apply only when the container's capability set,
 * the node's architecture and kernel match (moby's setupSeccomp does the same). `Unconfined` is
 * the absence of the object.
 */
import { readFile } from "node:fs/promises";
import { release } from "node:os";

/** An argument condition of a syscall rule (OCI `linux.seccomp.syscalls[].args[]`). */
export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOp;
}

export type SeccompOp =
  | "SCMP_CMP_NE"
  | "SCMP_CMP_LT"
  | "SCMP_CMP_LE"
  | "SCMP_CMP_EQ"
  | "SCMP_CMP_GE"
  | "SCMP_CMP_GT"
  | "SCMP_CMP_MASKED_EQ";

export type SeccompAction =
  | "SCMP_ACT_KILL"
  | "SCMP_ACT_KILL_PROCESS"
  | "SCMP_ACT_KILL_THREAD"
  | "SCMP_ACT_TRAP"
  | "SCMP_ACT_ERRNO"
  | "SCMP_ACT_TRACE"
  | "SCMP_ACT_ALLOW"
  | "SCMP_ACT_LOG";

/** One rule of the OCI object. */
export interface OciSyscallRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[];
}

/** The OCI `linux.seccomp` object. */
export interface OciSeccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures: string[];
  flags?: string[];
  syscalls: OciSyscallRule[];
}

/** When a rule of the Docker format applies. */
export interface RuleFilter {
  caps?: string[];
  /** Docker's (Go's) architecture names: amd64, x86, x32, arm, arm64, ppc64le, s390, s390x, riscv64. */
  arches?: string[];
  /** "major.minor": the rule applies on this kernel or newer (includes only). */
  minKernel?: string;
}

/** A rule of the Docker profile format: an OCI rule plus its conditions. */
export interface ProfileRule extends OciSyscallRule {
  comment?: string;
  includes?: RuleFilter;
  excludes?: RuleFilter;
}

/** The Docker profile format (moby's profiles/seccomp/default.json; also Localhost files). */
export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures: string[] | null }[];
  flags?: string[];
  syscalls: ProfileRule[];
}

/** Thrown for a Localhost profile that cannot be used; names the file and the field. */
export class SeccompProfileError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
  ) {
    super(`seccomp profile ${file}: ${field === "" ? "" : `${field}: `}${problem}`);
    this.name = "SeccompProfileError";
  }
}

const allow = "SCMP_ACT_ALLOW" as const;

// CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
// CLONE_NEWCGROUP = 0x7e020000: clone is allowed only when none of these flags is set.
const CLONE_NAMESPACE_FLAGS = 2114060288;

/** Docker's default profile (moby/profiles seccomp/default.json), rule for rule, in its order. */
export const runtimeDefaultProfile: SeccompProfile = {
  defaultAction: "SCMP_ACT_ERRNO",
  defaultErrnoRet: 1,
  archMap: [
    { architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] },
    { architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"] },
    { architecture: "SCMP_ARCH_MIPS64", subArchitectures: ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"] },
    { architecture: "SCMP_ARCH_MIPS64N32", subArchitectures: ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"] },
    { architecture: "SCMP_ARCH_MIPSEL64", subArchitectures: ["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"] },
    { architecture: "SCMP_ARCH_MIPSEL64N32", subArchitectures: ["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"] },
    { architecture: "SCMP_ARCH_S390X", subArchitectures: ["SCMP_ARCH_S390"] },
    { architecture: "SCMP_ARCH_RISCV64", subArchitectures: null },
    { architecture: "SCMP_ARCH_LOONGARCH64", subArchitectures: null },
  ],
  syscalls: [
    {
      // biome-ignore format: upstream's allow list, kept dense and in upstream's order for diffing
      names: [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
        "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
        "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
        "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
        "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
        "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old",
        "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
        "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
        "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
        "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64",
        "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
        "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
        "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid",
        "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername",
        "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
        "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage",
        "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday",
        "getuid", "getuid32", "getxattr", "getxattrat", "inotify_add_watch", "inotify_init",
        "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
        "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup",
        "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
        "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
        "listmount", "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr", "lseek",
        "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier",
        "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
        "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
        "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
        "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
        "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
        "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
        "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
        "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
        "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
        "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
        "remap_file_pages", "removexattr", "removexattrat", "rename", "renameat", "renameat2",
        "restart_syscall", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
        "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
        "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
        "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
        "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
        "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
        "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
        "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
        "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
        "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
        "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
        "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr",
        "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
        "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
        "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync",
        "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
        "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
        "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
        "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
        "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat",
        "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
        "writev",
      ],
      action: allow,
    },
    {
      names: ["process_vm_readv", "process_vm_writev", "ptrace"],
      action: allow,
      includes: { minKernel: "4.8" },
    },
    // every address family but AF_ALG (38) and AF_VSOCK (40)
    { names: ["socket"], action: allow, args: [{ index: 0, value: 38, op: "SCMP_CMP_LT" }] },
    { names: ["socket"], action: allow, args: [{ index: 0, value: 39, op: "SCMP_CMP_EQ" }] },
    { names: ["socket"], action: allow, args: [{ index: 0, value: 40, op: "SCMP_CMP_GT" }] },
    // personality: PER_LINUX, PER_LINUX32 (8), UNAME26 (0x20000), UNAME26|PER_LINUX32, and the query 0xffffffff
    ...[0, 8, 131072, 131080, 4294967295].map(
      (value): ProfileRule => ({
        names: ["personality"],
        action: allow,
        args: [{ index: 0, value, op: "SCMP_CMP_EQ" }],
      }),
    ),
    { names: ["sync_file_range2", "swapcontext"], action: allow, includes: { arches: ["ppc64le"] } },
    {
      names: [
        "arm_fadvise64_64",
        "arm_sync_file_range",
        "sync_file_range2",
        "breakpoint",
        "cacheflush",
        "set_tls",
      ],
      action: allow,
      includes: { arches: ["arm", "arm64"] },
    },
    { names: ["arch_prctl"], action: allow, includes: { arches: ["amd64", "x32"] } },
    { names: ["modify_ldt"], action: allow, includes: { arches: ["amd64", "x32", "x86"] } },
    {
      names: ["s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"],
      action: allow,
      includes: { arches: ["s390", "s390x"] },
    },
    { names: ["riscv_flush_icache"], action: allow, includes: { arches: ["riscv64"] } },
    { names: ["open_by_handle_at"], action: allow, includes: { caps: ["CAP_DAC_READ_SEARCH"] } },
    {
      // biome-ignore format: as upstream lists them
      names: [
        "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
        "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "mount",
        "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
        "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare",
      ],
      action: allow,
      includes: { caps: ["CAP_SYS_ADMIN"] },
    },
    {
      names: ["clone"],
      action: allow,
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, op: "SCMP_CMP_MASKED_EQ" }],
      excludes: { caps: ["CAP_SYS_ADMIN"], arches: ["s390", "s390x"] },
    },
    {
      names: ["clone"],
      action: allow,
      args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, op: "SCMP_CMP_MASKED_EQ" }],
      comment: "s390 parameter ordering for clone is different",
      includes: { arches: ["s390", "s390x"] },
      excludes: { caps: ["CAP_SYS_ADMIN"] },
    },
    // ENOSYS, not EPERM: glibc then falls back to clone, whose flags the rule above can inspect
    { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38, excludes: { caps: ["CAP_SYS_ADMIN"] } },
    { names: ["reboot"], action: allow, includes: { caps: ["CAP_SYS_BOOT"] } },
    { names: ["chroot"], action: allow, includes: { caps: ["CAP_SYS_CHROOT"] } },
    {
      names: ["delete_module", "init_module", "finit_module"],
      action: allow,
      includes: { caps: ["CAP_SYS_MODULE"] },
    },
    { names: ["acct"], action: allow, includes: { caps: ["CAP_SYS_PACCT"] } },
    {
      names: ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"],
      action: allow,
      includes: { caps: ["CAP_SYS_PTRACE"] },
    },
    { names: ["iopl", "ioperm"], action: allow, includes: { caps: ["CAP_SYS_RAWIO"] } },
    {
      names: ["settimeofday", "stime", "clock_settime", "clock_settime64"],
      action: allow,
      includes: { caps: ["CAP_SYS_TIME"] },
    },
    { names: ["vhangup"], action: allow, includes: { caps: ["CAP_SYS_TTY_CONFIG"] } },
    {
      names: ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"],
      action: allow,
      includes: { caps: ["CAP_SYS_NICE"] },
    },
    { names: ["syslog"], action: allow, includes: { caps: ["CAP_SYSLOG"] } },
    { names: ["bpf"], action: allow, includes: { caps: ["CAP_BPF"] } },
    { names: ["perf_event_open"], action: allow, includes: { caps: ["CAP_PERFMON"] } },
  ],
};

/** Node's process.arch → Docker's (Go's) architecture name and the native libseccomp one. */
const ARCHES: Record<string, { docker: string; scmp: string }> = {
  x64: { docker: "amd64", scmp: "SCMP_ARCH_X86_64" },
  ia32: { docker: "x86", scmp: "SCMP_ARCH_X86" },
  arm64: { docker: "arm64", scmp: "SCMP_ARCH_AARCH64" },
  arm: { docker: "arm", scmp: "SCMP_ARCH_ARM" },
  ppc64: { docker: "ppc64le", scmp: "SCMP_ARCH_PPC64LE" },
  s390x: { docker: "s390x", scmp: "SCMP_ARCH_S390X" },
  riscv64: { docker: "riscv64", scmp: "SCMP_ARCH_RISCV64" },
  loong64: { docker: "loong64", scmp: "SCMP_ARCH_LOONGARCH64" },
};

/** Where the profile is resolved: the container's capabilities, the node's arch and kernel. */
export interface ResolveTarget {
  /** The container's capability set (bounding), e.g. ["CAP_CHOWN", ...]. */
  caps: readonly string[];
  /** Node's process.arch of the node (x64, arm64, ...). */
  arch?: string;
  /** The node's kernel release (os.release()), e.g. "6.1.0-18-amd64". */
  kernel?: string;
}

function kernelAtLeast(kernel: string, min: string): boolean {
  const [maj = 0, mnr = 0] = kernel.split(/[.-]/).map((p) => Number.parseInt(p, 10));
  const [wantMaj = 0, wantMnr = 0] = min.split(".").map((p) => Number.parseInt(p, 10));
  return maj > wantMaj || (maj === wantMaj && mnr >= wantMnr);
}

function applies(rule: ProfileRule, caps: ReadonlySet<string>, arch: string, kernel: string): boolean {
  const inc = rule.includes ?? {};
  const exc = rule.excludes ?? {};
  if (inc.caps !== undefined && !inc.caps.every((c) => caps.has(c))) return false;
  if (inc.arches !== undefined && !inc.arches.includes(arch)) return false;
  if (inc.minKernel !== undefined && !kernelAtLeast(kernel, inc.minKernel)) return false;
  if (exc.caps?.some((c) => caps.has(c))) return false;
  if (exc.arches?.includes(arch)) return false;
  return true;
}

/**
 * Resolves a profile of the Docker format for one container into the OCI object: architectures
 * from archMap (the node's native one and its sub-architectures) unless the profile lists them,
 * and only the rules whose includes/excludes match.
 */
export function resolveSeccompProfile(profile: SeccompProfile, target: ResolveTarget): OciSeccomp {
  const arch = ARCHES[target.arch ?? process.arch];
  if (arch === undefined) throw new Error(`seccomp: no profile architecture for node arch ${target.arch}`);
  const caps = new Set(target.caps);
  const kernel = target.kernel ?? release();
  let architectures = profile.architectures ?? [];
  if (architectures.length === 0 && profile.archMap !== undefined) {
    const entry = profile.archMap.find((m) => m.architecture === arch.scmp);
    architectures = entry !== undefined ? [entry.architecture, ...(entry.subArchitectures ?? [])] : [];
  }
  const syscalls = profile.syscalls
    .filter((rule) => applies(rule, caps, arch.docker, kernel))
    .map(({ names, action, errnoRet, args }) => ({
      names: [...names],
      action,
      ...(errnoRet !== undefined ? { errnoRet } : {}),
      ...(args !== undefined && args.length > 0 ? { args: args.map((a) => ({ ...a })) } : {}),
    }));
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    architectures: [...architectures],
    ...(profile.flags !== undefined && profile.flags.length > 0 ? { flags: [...profile.flags] } : {}),
    syscalls,
  };
}

/**
 * `RuntimeDefault` for a container with these capabilities on this node: e.g. with Docker's
 * default capabilities unshare, mount, keyctl and clone with namespace flags are refused (EPERM),
 * clone3 returns ENOSYS; with CAP_SYS_ADMIN they are allowed.
 */
export function defaultSeccompProfile(
  caps: readonly string[],
  arch: string = process.arch,
  kernel: string = release(),
): OciSeccomp {
  return resolveSeccompProfile(runtimeDefaultProfile, { caps, arch, kernel });
}

const ACTIONS: readonly string[] = [
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
];
const OPS: readonly string[] = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
];
const FLAGS: readonly string[] = [
  "SECCOMP_FILTER_FLAG_TSYNC",
  "SECCOMP_FILTER_FLAG_LOG",
  "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
];

/** Checks parsed JSON against the Docker profile format; every problem names its field. */
class ProfileChecker {
  constructor(private readonly file: string) {}

  fail(field: string, problem: string): never {
    throw new SeccompProfileError(this.file, field, problem);
  }

  object(v: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(field, "must be an object");
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!keys.includes(k)) this.fail(field === "" ? k : `${field}.${k}`, "unknown field");
    }
    return o;
  }

  strings(v: unknown, field: string, allowed?: readonly string[]): string[] {
    if (!Array.isArray(v)) this.fail(field, "must be an array of strings");
    return v.map((s, i) => {
      if (typeof s !== "string") this.fail(`${field}[${i}]`, "must be a string");
      if (allowed !== undefined && !allowed.includes(s)) this.fail(`${field}[${i}]`, `unknown value "${s}"`);
      return s;
    });
  }

  uint(v: unknown, field: string, max: number): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max)
      this.fail(field, `must be an integer in [0, ${max}]`);
    return v;
  }

  action(v: unknown, field: string): SeccompAction {
    if (v === "SCMP_ACT_NOTIFY")
      this.fail(field, "SCMP_ACT_NOTIFY needs a seccomp agent, which kctl does not run");
    if (typeof v !== "string" || !ACTIONS.includes(v))
      this.fail(field, `unknown action ${JSON.stringify(v)}`);
    return v as SeccompAction;
  }

  filter(v: unknown, field: string, withKernel: boolean): RuleFilter {
    const o = this.object(v, field, withKernel ? ["caps", "arches", "minKernel"] : ["caps", "arches"]);
    const out: RuleFilter = {};
    if (o.caps !== undefined) out.caps = this.strings(o.caps, `${field}.caps`);
    if (o.arches !== undefined) out.arches = this.strings(o.arches, `${field}.arches`);
    if (o.minKernel !== undefined) {
      if (typeof o.minKernel !== "string" || !/^\d+\.\d+$/.test(o.minKernel))
        this.fail(`${field}.minKernel`, 'must be "major.minor"');
      out.minKernel = o.minKernel;
    }
    return out;
  }

  rule(v: unknown, field: string): ProfileRule {
    const o = this.object(v, field, [
      "names",
      "name",
      "action",
      "errnoRet",
      "args",
      "comment",
      "includes",
      "excludes",
    ]);
    // Docker's format once had a single "name"; it still reads it
    const names =
      o.names !== undefined ? this.strings(o.names, `${field}.names`) : o.name !== undefined ? [o.name] : [];
    if (names.length === 0 || names.some((n) => typeof n !== "string" || n === ""))
      this.fail(`${field}.names`, "must list at least one syscall name");
    const rule: ProfileRule = { names: names as string[], action: this.action(o.action, `${field}.action`) };
    if (o.errnoRet !== undefined) {
      if (rule.action !== "SCMP_ACT_ERRNO" && rule.action !== "SCMP_ACT_TRACE")
        this.fail(`${field}.errnoRet`, "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one");
      rule.errnoRet = this.uint(o.errnoRet, `${field}.errnoRet`, 0xffff);
    }
    if (o.args !== undefined && o.args !== null) {
      if (!Array.isArray(o.args)) this.fail(`${field}.args`, "must be an array");
      rule.args = o.args.map((a, i) => this.arg(a, `${field}.args[${i}]`));
    }
    if (typeof o.comment === "string") rule.comment = o.comment;
    if (o.includes !== undefined) rule.includes = this.filter(o.includes, `${field}.includes`, true);
    if (o.excludes !== undefined) rule.excludes = this.filter(o.excludes, `${field}.excludes`, false);
    return rule;
  }

  arg(v: unknown, field: string): SeccompArg {
    const o = this.object(v, field, ["index", "value", "valueTwo", "op"]);
    const arg: SeccompArg = {
      index: this.uint(o.index, `${field}.index`, 5),
      value: this.uint(o.value, `${field}.value`, Number.MAX_SAFE_INTEGER),
      op: (() => {
        if (typeof o.op !== "string" || !OPS.includes(o.op))
          this.fail(`${field}.op`, `unknown operator ${JSON.stringify(o.op)}`);
        return o.op as SeccompOp;
      })(),
    };
    if (o.valueTwo !== undefined)
      arg.valueTwo = this.uint(o.valueTwo, `${field}.valueTwo`, Number.MAX_SAFE_INTEGER);
    return arg;
  }

  profile(v: unknown): SeccompProfile {
    const o = this.object(v, "", [
      "defaultAction",
      "defaultErrnoRet",
      "architectures",
      "archMap",
      "flags",
      "listenerPath",
      "listenerMetadata",
      "syscalls",
    ]);
    if (o.listenerPath !== undefined && o.listenerPath !== "")
      this.fail("listenerPath", "seccomp agents are not supported");
    if (o.listenerMetadata !== undefined && o.listenerMetadata !== "")
      this.fail("listenerMetadata", "seccomp agents are not supported");
    const profile: SeccompProfile = {
      defaultAction: this.action(o.defaultAction, "defaultAction"),
      syscalls: [],
    };
    if (o.defaultErrnoRet !== undefined)
      profile.defaultErrnoRet = this.uint(o.defaultErrnoRet, "defaultErrnoRet", 0xffff);
    if (o.architectures !== undefined) {
      profile.architectures = this.strings(o.architectures, "architectures");
      profile.architectures.forEach((a, i) => {
        if (!/^SCMP_ARCH_[A-Z0-9_]+$/.test(a))
          this.fail(`architectures[${i}]`, `unknown architecture "${a}"`);
      });
    }
    if (o.archMap !== undefined) {
      if (!Array.isArray(o.archMap)) this.fail("archMap", "must be an array");
      profile.archMap = o.archMap.map((m, i) => {
        const e = this.object(m, `archMap[${i}]`, ["architecture", "subArchitectures"]);
        if (typeof e.architecture !== "string") this.fail(`archMap[${i}].architecture`, "must be a string");
        const subs = e.subArchitectures;
        return {
          architecture: e.architecture,
          subArchitectures:
            subs === null || subs === undefined ? null : this.strings(subs, `archMap[${i}].subArchitectures`),
        };
      });
    }
    if (o.flags !== undefined) profile.flags = this.strings(o.flags, "flags", FLAGS);
    if (o.syscalls !== undefined && o.syscalls !== null) {
      if (!Array.isArray(o.syscalls)) this.fail("syscalls", "must be an array");
      profile.syscalls = o.syscalls.map((r, i) => this.rule(r, `syscalls[${i}]`));
    }
    return profile;
  }
}

/** Parses and checks the text of a profile file (Docker format); errors name file and field. */
export function parseSeccompProfile(text: string, file: string): SeccompProfile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SeccompProfileError(file, "", `not JSON: ${(err as Error).message}`);
  }
  return new ProfileChecker(file).profile(json);
}

/**
 * `Localhost`: reads the profile file at path (Kubernetes resolves `localhostProfile` beneath the
 * kubelet's seccomp directory before it gets here) and resolves it for the container like
 * RuntimeDefault. Without target.caps, rules conditional on capabilities never apply (which
 * grants less, never more). Throws SeccompProfileError naming the file and the field.
 */
export async function localhostProfile(
  path: string,
  target: ResolveTarget = { caps: [] },
): Promise<OciSeccomp> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new SeccompProfileError(path, "", `cannot read: ${(err as Error).message}`);
  }
  return resolveSeccompProfile(parseSeccompProfile(text, path), target);
}

/** The profiles the node agent gives its containers (`NodeSecurity.seccompProfiles`). */
export const nodeSeccompProfiles = {
  defaultSeccompProfile: (caps: string[]) => defaultSeccompProfile(caps),
  localhostProfile: (path: string, caps: string[]) => localhostProfile(path, { caps }),
};
