/**
 * linux.seccomp on real containers: escape attempts (testing/escape-probe.c) refused by a
 * filter, with the same bundles on kshim, its sanitizer build, crun and runc. The attempts are
 * given the capabilities they need, so that the filter is the only thing that can stop them, and
 * each is also run unconfined to show it would succeed. Needs root.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultSeccompProfile } from "../node-agent/runtime/oci/seccomp-default.js";
import { DEFAULT_CAPS } from "./testing/oci-bundle.js";
import { ociRuntime, runToExit, runtimeExec, runtimeOk } from "./testing/oci-runtimes.js";
import { PROBE, peerRuntimes, useRuntimeFixture } from "./testing/runtime-fixture.js";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("native/seccomp.test.ts: SKIPPED, needs root (namespaces, cgroups, mounts)");

const CLONE_NEWUSER = 0x10000000;
const EPERM_MSG = "Operation not permitted (errno 1)";

/** A profile written by hand: everything allowed except the escape routes. */
const denyEscapes = {
  defaultAction: "SCMP_ACT_ALLOW",
  syscalls: [
    { names: ["keyctl", "ptrace", "mount", "no_such_syscall_anywhere"], action: "SCMP_ACT_ERRNO" },
    {
      // only unshare(CLONE_NEWUSER|...): a uts namespace alone stays allowed
      names: ["unshare"],
      action: "SCMP_ACT_ERRNO",
      errnoRet: 13,
      args: [{ index: 0, value: CLONE_NEWUSER, valueTwo: CLONE_NEWUSER, op: "SCMP_CMP_MASKED_EQ" }],
    },
  ],
};

/** The default capabilities plus those the attempts need, so that only seccomp can stop them. */
const capsForAttempts = [...DEFAULT_CAPS, "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"];

type Config = Record<string, unknown> & { process: Record<string, unknown>; linux: Record<string, unknown> };

function withCaps(c: Config, caps: string[]) {
  c.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
}

describe.skipIf(!isRoot)("linux.seccomp (as root)", () => {
  const fx = useRuntimeFixture("kshim-seccomp");
  const attempts = `${PROBE} keyctl ptrace userns mount; unshare -u true && echo uts-ok; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status`;

  describe.each(peerRuntimes)("a hand-written profile on %s", (kind) => {
    it("refuses keyctl, ptrace, mount and unshare(CLONE_NEWUSER) with the profile's errno", async () => {
      const id = fx.newId("deny");
      const b = await fx.bundle(id, {
        args: ["sh", "-c", attempts],
        edit: (c) => {
          withCaps(c as Config, capsForAttempts);
          (c as Config).linux.seccomp = denyEscapes;
        },
      });
      const r = await runToExit(fx.rt(kind), b, id, fx.work);
      expect(r.stderr).not.toMatch(/AddressSanitizer|runtime error/);
      expect(r.stdout.split("\n")).toEqual([
        `keyctl: ${EPERM_MSG}`,
        `ptrace: ${EPERM_MSG}`,
        "userns: Permission denied (errno 13)",
        `mount: ${EPERM_MSG}`,
        "uts-ok",
        "NoNewPrivs:\t1",
        "Seccomp:\t2",
        "",
      ]);
    });

    it("without noNewPrivileges still loads the filter and leaves no_new_privs unset", async () => {
      const id = fx.newId("nnp");
      const b = await fx.bundle(id, {
        args: ["sh", "-c", `${PROBE} keyctl; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status`],
        edit: (c) => {
          (c as Config).process.noNewPrivileges = false;
          (c as Config).linux.seccomp = denyEscapes;
        },
      });
      const r = await runToExit(fx.rt(kind), b, id, fx.work);
      expect(r.stdout.split("\n")).toEqual([`keyctl: ${EPERM_MSG}`, "NoNewPrivs:\t0", "Seccomp:\t2", ""]);
    });

    it("unconfined, the same attempts with the same capabilities succeed", async () => {
      const id = fx.newId("open");
      const b = await fx.bundle(id, {
        args: ["sh", "-c", attempts],
        edit: (c) => withCaps(c as Config, capsForAttempts),
      });
      const r = await runToExit(fx.rt(kind), b, id, fx.work);
      expect(r.stdout, r.stderr).toBe(
        "keyctl: ok\nptrace: ok\nuserns: ok\nmount: ok\nuts-ok\nNoNewPrivs:\t1\nSeccomp:\t0\n",
      );
    });
  });

  describe.each(peerRuntimes)("RuntimeDefault on %s", (kind) => {
    // What a pod gets: Docker's default capabilities and profile, noNewPrivileges false (the
    // filter is then loaded while the runtime still holds CAP_SYS_ADMIN).
    const attack = [
      "unshare -U true && echo unshare-ok",
      "mount -t tmpfs x /mnt && echo mount-ok",
      `${PROBE} keyctl ptrace userns mount`,
      "grep '^Seccomp:' /proc/self/status",
    ].join("; ");
    const podBundle = (id: string, seccomp: boolean) =>
      fx.bundle(id, {
        args: ["sh", "-c", attack],
        edit: (c) => {
          (c as Config).process.noNewPrivileges = false;
          if (seccomp) (c as Config).linux.seccomp = defaultSeccompProfile(DEFAULT_CAPS);
        },
      });

    it("refuses unshare -U, mount and keyctl; ptrace stays allowed as in Docker (kernel >= 4.8)", async () => {
      const id = fx.newId("rtdefault");
      const r = await runToExit(fx.rt(kind), await podBundle(id, true), id, fx.work);
      expect(r.stderr).toContain("unshare: unshare(0x10000000): Operation not permitted");
      expect(r.stderr).toMatch(/mount: permission denied/);
      expect(r.stderr).not.toMatch(/AddressSanitizer|runtime error/);
      expect(r.stdout.split("\n")).toEqual([
        `keyctl: ${EPERM_MSG}`,
        "ptrace: ok",
        `userns: ${EPERM_MSG}`,
        `mount: ${EPERM_MSG}`,
        "Seccomp:\t2",
        "",
      ]);
    });

    it("unconfined, the same pod can make a user namespace and join a keyring", async () => {
      const id = fx.newId("unconfined");
      const r = await runToExit(fx.rt(kind), await podBundle(id, false), id, fx.work);
      expect(r.stdout.split("\n")).toEqual([
        "unshare-ok",
        "keyctl: ok",
        "ptrace: ok",
        "userns: ok",
        // no CAP_SYS_ADMIN: the kernel refuses this one anyway
        `mount: ${EPERM_MSG}`,
        "Seccomp:\t0",
        "",
      ]);
    });
  });

  describe.each(["kshim", "kshim-asan"] as const)("exec on %s", (kind) => {
    it("applies the container's filter to an exec'd process", async () => {
      const id = fx.newId("exec");
      const b = await fx.bundle(id, {
        args: ["sleep", "600"],
        edit: (c) => {
          withCaps(c as Config, capsForAttempts);
          (c as Config).linux.seccomp = denyEscapes;
        },
      });
      fx.track(fx.rt(kind), id);
      await runtimeOk(fx.rt(kind), ["create", "--bundle", b, id], fx.work);
      await runtimeOk(fx.rt(kind), ["start", id], fx.work);
      const r = await runtimeExec(
        fx.rt(kind),
        ["exec", id, "--", PROBE, "mount", "userns", "keyctl"],
        fx.work,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(
        `mount: ${EPERM_MSG}\nuserns: Permission denied (errno 13)\nkeyctl: ${EPERM_MSG}\n`,
      );
    });
  });

  describe("the compiled-profile cache on kshim", () => {
    it("compiles a profile once, and an entry under its name with another key is not trusted", async () => {
      const rt = ociRuntime("kshim", join(fx.work, "state-cache"));
      const cache = join(rt.root, ".seccomp-cache");
      const run = async (label: string) => {
        const id = fx.newId(label);
        const b = await fx.bundle(id, {
          args: [PROBE, "keyctl"],
          edit: (c) => {
            (c as Config).linux.seccomp = denyEscapes;
          },
        });
        return (await runToExit(rt, b, id, fx.work)).stdout;
      };
      expect(await run("cache1")).toBe(`keyctl: ${EPERM_MSG}\n`);
      const [entry, ...others] = readdirSync(cache);
      expect(others).toEqual([]);
      const path = join(cache, entry!);
      const compiled = readFileSync(path);
      expect(await run("cache2")).toBe(`keyctl: ${EPERM_MSG}\n`);
      expect(readdirSync(cache)).toEqual([entry]);
      // Poison the entry: a foreign key, then a program that allows everything (BPF "ret ALLOW").
      const key = Buffer.from("not this profile");
      const poisoned = Buffer.alloc(4 + key.length + 4 + 8);
      poisoned.writeUInt32LE(key.length, 0);
      key.copy(poisoned, 4);
      poisoned.writeUInt16LE(0x06, 4 + key.length + 4);
      poisoned.writeUInt32LE(0x7fff0000, 4 + key.length + 4 + 4);
      writeFileSync(path, poisoned);
      expect(await run("cache3")).toBe(`keyctl: ${EPERM_MSG}\n`);
      expect(readFileSync(path).equals(compiled)).toBe(true);
    });
  });

  describe("bad profiles on kshim", () => {
    const refuse = async (label: string, seccomp: unknown, message: RegExp) => {
      const id = fx.newId(label);
      const b = await fx.bundle(id, {
        args: ["true"],
        edit: (c) => {
          (c as Config).linux.seccomp = seccomp;
        },
      });
      const rt = fx.rt("kshim-asan");
      const r = await runtimeExec(rt, ["create", "--bundle", b, id], fx.work);
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/AddressSanitizer|runtime error/);
      const state = await runtimeExec(rt, ["state", id], fx.work);
      expect(state.code).not.toBe(0);
    };
    const rule = (extra: object) => ({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mount"], action: "SCMP_ACT_ERRNO", ...extra }],
    });

    it("names the bad field", async () => {
      await refuse("noaction", { syscalls: [] }, /linux\.seccomp\.defaultAction: required/);
      await refuse(
        "badaction",
        { defaultAction: "SCMP_ACT_MAYBE" },
        /defaultAction: unknown action "SCMP_ACT_MAYBE"/,
      );
      await refuse(
        "notify",
        { defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/agent.sock" },
        /linux\.seccomp\.listenerPath: not supported/,
      );
      await refuse(
        "notifyact",
        rule({ action: "SCMP_ACT_NOTIFY" }),
        /linux\.seccomp\.syscalls\[0\]\.action: SCMP_ACT_NOTIFY is not supported/,
      );
      await refuse(
        "arch",
        { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_PDP11"] },
        /linux\.seccomp\.architectures\[0\]: unknown architecture "SCMP_ARCH_PDP11"/,
      );
      await refuse(
        "flag",
        { defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_NEW_LISTENER"] },
        /linux\.seccomp\.flags\[0\]: "SECCOMP_FILTER_FLAG_NEW_LISTENER" is not supported/,
      );
      await refuse(
        "argidx",
        rule({ args: [{ index: 6, value: 0, op: "SCMP_CMP_EQ" }] }),
        /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: 6 is not a syscall argument/,
      );
      await refuse(
        "argop",
        rule({ args: [{ index: 0, value: 0, op: "SCMP_CMP_ABOUT" }] }),
        /syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_ABOUT"/,
      );
      await refuse(
        "errnoallow",
        rule({ action: "SCMP_ACT_ALLOW", errnoRet: 1 }),
        /syscalls\[0\]\.errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one/,
      );
      await refuse("nonames", rule({ names: [] }), /syscalls\[0\]\.names: must not be empty/);
      await refuse(
        "docker",
        rule({ includes: { caps: ["CAP_SYS_ADMIN"] } }),
        /syscalls\[0\]: includes\/excludes are Docker profile fields/,
      );
      await refuse(
        "typo",
        rule({ errnoret: 1 }),
        /linux\.seccomp\.syscalls\[0\]\.errnoret: unsupported field/,
      );
    });
  });
});
