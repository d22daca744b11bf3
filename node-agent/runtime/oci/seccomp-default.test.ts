import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultCapabilities } from "./container-config.js";
import {
  defaultSeccompProfile,
  localhostProfile,
  type OciSeccomp,
  parseSeccompProfile,
  SeccompProfileError,
} from "./seccomp-default.js";

/** Every way the profile lets a syscall through: "name" or "name if <args>" (errno rules apart). */
function allowed(p: OciSeccomp): Set<string> {
  const out = new Set<string>();
  for (const r of p.syscalls) {
    if (r.action !== "SCMP_ACT_ALLOW") continue;
    for (const n of r.names) {
      out.add(
        r.args === undefined ? n : `${n} if ${r.args.map((a) => `a${a.index} ${a.op} ${a.value}`).join(",")}`,
      );
    }
  }
  return out;
}

function errnoRules(p: OciSeccomp): string[] {
  return p.syscalls
    .filter((r) => r.action === "SCMP_ACT_ERRNO")
    .flatMap((r) => r.names.map((n) => `${n}=${r.errnoRet}`));
}

const NS_MASK = 0x7e020000;

describe("defaultSeccompProfile (RuntimeDefault)", () => {
  const cases: {
    name: string;
    caps: readonly string[];
    arch: string;
    kernel: string;
    allows: string[];
    refuses: string[];
    errno: string[];
    architectures: string[];
  }[] = [
    {
      name: "Docker's default capabilities on amd64",
      caps: defaultCapabilities,
      arch: "x64",
      kernel: "6.1.0-18-amd64",
      allows: [
        "read",
        "chroot",
        "arch_prctl",
        "modify_ldt",
        "ptrace", // Docker allows it on kernels >= 4.8, whose ptrace no longer bypasses seccomp
        `clone if a0 SCMP_CMP_MASKED_EQ ${NS_MASK}`,
        "socket if a0 SCMP_CMP_LT 38",
        "socket if a0 SCMP_CMP_GT 40",
        "personality if a0 SCMP_CMP_EQ 8",
      ],
      refuses: [
        "unshare",
        "mount",
        "umount2",
        "setns",
        "keyctl",
        "bpf",
        "reboot",
        "clone",
        "kcmp",
        "open_by_handle_at",
        "set_tls",
        "io_uring_setup", // Docker's profile no longer allows io_uring
        "socket", // never unconditionally: AF_ALG (38) and AF_VSOCK (40) stay refused
      ],
      errno: ["clone3=38"],
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    },
    {
      name: "with CAP_SYS_ADMIN the namespace and mount calls open up, clone is unconditional",
      caps: [...defaultCapabilities, "CAP_SYS_ADMIN"],
      arch: "x64",
      kernel: "6.1.0",
      allows: ["unshare", "mount", "setns", "clone", "clone3", "bpf", "syslog"],
      refuses: [`clone if a0 SCMP_CMP_MASKED_EQ ${NS_MASK}`, "keyctl", "reboot"],
      errno: [],
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    },
    {
      name: "on a kernel older than 4.8 ptrace needs CAP_SYS_PTRACE",
      caps: defaultCapabilities,
      arch: "x64",
      kernel: "4.4.0-210-generic",
      allows: ["read"],
      refuses: ["ptrace", "process_vm_readv"],
      errno: ["clone3=38"],
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    },
    {
      name: "CAP_SYS_PTRACE and CAP_SYS_TIME add their calls",
      caps: ["CAP_SYS_PTRACE", "CAP_SYS_TIME"],
      arch: "x64",
      kernel: "4.4",
      allows: ["ptrace", "kcmp", "pidfd_getfd", "settimeofday", "clock_settime"],
      refuses: ["chroot", "unshare"],
      errno: ["clone3=38"],
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    },
    {
      name: "arm64: arm's own calls, AArch32 as sub-architecture, no x86 calls",
      caps: defaultCapabilities,
      arch: "arm64",
      kernel: "6.6",
      allows: ["set_tls", "cacheflush", `clone if a0 SCMP_CMP_MASKED_EQ ${NS_MASK}`],
      refuses: ["arch_prctl", "modify_ldt"],
      errno: ["clone3=38"],
      architectures: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    },
    {
      name: "s390x: clone's flags are its second argument",
      caps: defaultCapabilities,
      arch: "s390x",
      kernel: "6.6",
      allows: ["s390_runtime_instr", `clone if a1 SCMP_CMP_MASKED_EQ ${NS_MASK}`],
      refuses: [`clone if a0 SCMP_CMP_MASKED_EQ ${NS_MASK}`],
      errno: ["clone3=38"],
      architectures: ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
    },
  ];

  it.each(cases)("$name", (c) => {
    const p = defaultSeccompProfile(c.caps, c.arch, c.kernel);
    expect(p.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(p.defaultErrnoRet).toBe(1);
    expect(p.architectures).toEqual(c.architectures);
    const a = allowed(p);
    for (const name of c.allows) expect(a, name).toContain(name);
    for (const name of c.refuses) expect(a, name).not.toContain(name);
    expect(errnoRules(p)).toEqual(c.errno);
    // only OCI fields reach the runtime
    for (const r of p.syscalls)
      expect(Object.keys(r).every((k) => ["names", "action", "errnoRet", "args"].includes(k))).toBe(true);
  });

  it("returns a fresh object each time (callers may edit theirs)", () => {
    const a = defaultSeccompProfile(defaultCapabilities, "x64", "6.1");
    a.syscalls[0]!.names.push("keyctl");
    expect(allowed(defaultSeccompProfile(defaultCapabilities, "x64", "6.1"))).not.toContain("keyctl");
  });
});

describe("localhostProfile", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-seccomp-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const write = async (name: string, body: unknown) => {
    const path = join(dir, name);
    await writeFile(path, typeof body === "string" ? body : JSON.stringify(body));
    return path;
  };

  it("resolves a Docker-format file for the container like RuntimeDefault", async () => {
    const path = await write("audit.json", {
      defaultAction: "SCMP_ACT_LOG",
      archMap: [{ architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86"] }],
      syscalls: [
        { names: ["keyctl", "add_key"], action: "SCMP_ACT_ERRNO", errnoRet: 38, comment: "no keyrings" },
        { name: "mount", action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN"] } },
        { names: ["kill"], action: "SCMP_ACT_ALLOW", args: [{ index: 1, value: 9, op: "SCMP_CMP_NE" }] },
      ],
    });
    expect(await localhostProfile(path, { caps: defaultCapabilities, arch: "x64", kernel: "6.1" })).toEqual({
      defaultAction: "SCMP_ACT_LOG",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      syscalls: [
        { names: ["keyctl", "add_key"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
        { names: ["kill"], action: "SCMP_ACT_ALLOW", args: [{ index: 1, value: 9, op: "SCMP_CMP_NE" }] },
      ],
    });
  });

  const bad: [string, unknown, RegExp][] = [
    ["not JSON", "{ defaultAction: ", /^seccomp profile .*\/p0\.json: not JSON: /],
    ["no defaultAction", { syscalls: [] }, /p1\.json: defaultAction: unknown action undefined/],
    [
      "unknown action",
      { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["x"], action: "DENY" }] },
      /p2\.json: syscalls\[0\]\.action: unknown action "DENY"/,
    ],
    [
      "notify",
      { defaultAction: "SCMP_ACT_NOTIFY" },
      /p3\.json: defaultAction: SCMP_ACT_NOTIFY needs a seccomp agent/,
    ],
    [
      "listener",
      { defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/a.sock" },
      /p4\.json: listenerPath: seccomp agents are not supported/,
    ],
    ["typo'd field", { defaultAction: "SCMP_ACT_ALLOW", sycalls: [] }, /p5\.json: sycalls: unknown field/],
    [
      "empty names",
      { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: [], action: "SCMP_ACT_ERRNO" }] },
      /p6\.json: syscalls\[0\]\.names: must list at least one/,
    ],
    [
      "arg index",
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          { names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{ index: 6, value: 0, op: "SCMP_CMP_EQ" }] },
        ],
      },
      /p7\.json: syscalls\[0\]\.args\[0\]\.index: must be an integer in \[0, 5\]/,
    ],
    [
      "arg op",
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0, op: "EQ" }] }],
      },
      /p8\.json: syscalls\[0\]\.args\[0\]\.op: unknown operator "EQ"/,
    ],
    [
      "errnoRet on allow",
      {
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [{ names: ["kill"], action: "SCMP_ACT_ALLOW", errnoRet: 1 }],
      },
      /p9\.json: syscalls\[0\]\.errnoRet: only SCMP_ACT_ERRNO/,
    ],
    [
      "flag",
      { defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_NEW_LISTENER"] },
      /p10\.json: flags\[0\]: unknown value/,
    ],
    [
      "minKernel",
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["kill"], action: "SCMP_ACT_ERRNO", includes: { minKernel: "four" } }],
      },
      /p11\.json: syscalls\[0\]\.includes\.minKernel: must be "major\.minor"/,
    ],
  ];

  it.each(bad.map(([label, body, message], i) => ({ label, body, message, i })))(
    "refuses $label naming the file and field",
    async ({ body, message, i }) => {
      const path = await write(`p${i}.json`, body);
      const err = await localhostProfile(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SeccompProfileError);
      expect((err as Error).message).toMatch(message);
      expect((err as SeccompProfileError).file).toBe(path);
    },
  );

  it("names a missing file", async () => {
    const path = join(dir, "absent.json");
    await expect(localhostProfile(path)).rejects.toThrow(`seccomp profile ${path}: cannot read: ENOENT`);
  });

  it("parses the text alone for callers that hold it", () => {
    expect(parseSeccompProfile('{"defaultAction":"SCMP_ACT_ALLOW"}', "inline")).toEqual({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [],
    });
  });
});
