/**
 * Container escapes, attempted from inside real containers the way an attacker would, on kshim and
 * on crun and runc with the same config where the attempt is about the runtime. Each attempt must
 * fail, and fail for the expected reason (the error text is checked), so a protection that
 * silently moved to another layer shows up. Needs root; everything made here is removed in
 * afterEach/afterAll even when a test fails.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { streamLog } from "../node-agent/pod-worker/container-logs.js";
import { buildBusyboxRootfs } from "../node-agent/runtime/images/busybox-rootfs.js";
import { type BundleOptions, writeBundle } from "./testing/oci-bundle.js";
import {
  isHybrid,
  type OciRuntime,
  ociRuntime,
  type RuntimeKind,
  runtimeExec,
  runtimeOk,
  SHIM,
  waitStopped,
} from "./testing/oci-runtimes.js";
import { type TestCgroupParent, testCgroupParent } from "./testing/test-cgroups.js";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("native/escape.test.ts: SKIPPED, needs root (namespaces, cgroups, mounts)");

const which = (cmd: string): string | undefined => {
  try {
    return execFileSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
};
const peers = (["crun", "runc"] as const).filter((c) => which(c) !== undefined);

/** The first block device of the host (its disk), as "major minor". */
function hostDisk(): string {
  const line = readFileSync("/proc/partitions", "utf8")
    .split("\n")
    .slice(2)
    .find((l) => l.trim() !== "");
  if (line === undefined) throw new Error("no block device in /proc/partitions");
  const [major, minor] = line.trim().split(/\s+/);
  return `${major} ${minor}`;
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** Polls until file exists and contains text. */
async function waitForText(file: string, text: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const content = existsSync(file) ? readFileSync(file, "utf8") : "";
    if (content.includes(text)) return content;
    if (Date.now() > deadline) throw new Error(`${file}: no "${text}" after ${timeoutMs} ms:\n${content}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!isRoot)("container escapes (as root)", () => {
  const tag = `kshim-escape-${process.pid}-${Date.now().toString(36)}`;
  let work = "";
  let cgroups: TestCgroupParent;
  const live: { rt: OciRuntime; id: string }[] = [];
  let seq = 0;

  const newId = (label: string) => `${tag}-${label}-${seq++}`;
  /** A bundle with its own busybox rootfs (attacks change files in it) and a host directory
   * mounted at /vol like a pod volume, where the attacker also leaves its report. */
  const attackBundle = async (id: string, o: Omit<BundleOptions, "rootfs" | "cgroupsPath">) => {
    const dir = join(work, id);
    const rootfs = join(dir, "rootfs");
    const vol = join(dir, "vol");
    await buildBusyboxRootfs(rootfs);
    await mkdir(vol);
    const mounts = [{ destination: "/vol", type: "bind", source: vol, options: ["rbind", "rw"] }];
    const bundle = await writeBundle(join(dir, "bundle"), {
      rootfs,
      cgroupsPath: `${cgroups.path}/${id}`,
      ...o,
      mounts: [...mounts, ...(o.mounts ?? [])],
      edit: (c) => {
        // what containerd and `runc spec` write; crun allows every device without it
        (c.linux as { resources: Record<string, unknown> }).resources.devices = [
          { allow: false, access: "rwm" },
        ];
        o.edit?.(c);
      },
    });
    return { bundle, vol };
  };
  /** Starts the attacker's container detached and waits for its report to say "done". */
  const attack = async (r: OciRuntime, id: string, script: string) => {
    const { bundle, vol } = await attackBundle(id, {
      args: ["sh", "-c", `(${script}) >/vol/report 2>&1; echo done >>/vol/report; sleep 600`],
    });
    live.push({ rt: r, id });
    await runtimeOk(r, ["create", "--bundle", bundle, id], work);
    await runtimeOk(r, ["start", id], work);
    return waitForText(join(vol, "report"), "done\n");
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "kshim-escape-"));
    cgroups = testCgroupParent(tag);
  });

  afterEach(async () => {
    for (const { rt: r, id } of live.splice(0)) await runtimeExec(r, ["delete", "--force", id], work);
  });

  afterAll(async () => {
    for (const { rt: r, id } of live.splice(0)) await runtimeExec(r, ["delete", "--force", id], work);
    cgroups?.remove();
    if (work !== "") await rm(work, { recursive: true, force: true });
  });

  // Reading the host's disk through a node made with CAP_MKNOD (in Docker's default set), and
  // opening /dev/fuse, which needs no capability on the host (this machine's own device policy
  // already keeps its disk from everyone, so fuse is what shows a missing device policy): in the
  // image's filesystem, in /dev, and in a volume. Only reads: a regression must not write the disk.
  const mknodScript = `for d in /tmp /dev /vol; do
    rm -f $d/disk $d/fuse
    if ! mknod $d/disk b ${hostDisk()} || ! mknod $d/fuse c 10 229; then echo "$d mknod refused"; continue; fi
    if r=$(head -c 512 $d/disk 2>&1 >/dev/null); then echo "$d disk read"; else echo "$d disk refused: $r"; fi
    if r=$( (exec 4<$d/fuse) 2>&1); then echo "$d fuse opened"; else echo "$d fuse refused: $r"; fi
  done`;

  describe.each([
    // the devices controller, plus nodev on the rootfs and /dev
    { kind: "kshim" as RuntimeKind, rootfs: "Permission denied", dev: "Permission denied" },
    // the eBPF device program on the cgroup2 hierarchy, plus nodev
    ...(isHybrid()
      ? [{ kind: "kshim-v2" as RuntimeKind, rootfs: "Permission denied", dev: "Permission denied" }]
      : []),
    // the devices controller alone
    ...peers.map((kind) => ({
      kind: kind as RuntimeKind,
      rootfs: "Operation not permitted",
      dev: "Operation not permitted",
    })),
  ])("mknod of the host disk on $kind", ({ kind, rootfs, dev }) => {
    it("makes the node but cannot open it", async () => {
      const r = ociRuntime(kind, join(work, `state-${kind}`));
      const report = await attack(r, newId("mknod"), mknodScript);
      expect(report).not.toMatch(/ (read|opened)$/m);
      // nodev (EACCES) where the node is on the rootfs or /dev, the device policy (EPERM) in a
      // volume, which kshim leaves as the spec mounts it
      for (const node of ["disk", "fuse"]) {
        expect(report).toMatch(new RegExp(`^/tmp ${node} refused: .*${rootfs}$`, "m"));
        expect(report).toMatch(new RegExp(`^/dev ${node} refused: .*${dev}$`, "m"));
        expect(report).toMatch(new RegExp(`^/vol ${node} refused: .*Operation not permitted$`, "m"));
      }
    });
  });

  describe.skipIf(!isHybrid())("device policy on the cgroup2 hierarchy", () => {
    it("lets the default devices and the spec's allowed ones open, denies the rest", async () => {
      const r = ociRuntime("kshim-v2", join(work, "state-kshim-v2"));
      const id = newId("devallow");
      const { bundle, vol } = await attackBundle(id, {
        args: [
          "sh",
          "-c",
          `(head -c 4 /dev/zero | wc -c; echo x >/dev/null && echo null-ok
            mknod /vol/tun c 10 200; mknod /vol/fuse c 10 229
            (exec 4</vol/tun) && echo tun-opened
            r=$( (exec 4</vol/fuse) 2>&1 ) || echo "fuse refused: $r") >/vol/report 2>&1; echo done >>/vol/report`,
        ],
        edit: (c) => {
          (c.linux as { resources: Record<string, unknown> }).resources.devices = [
            { allow: false, access: "rwm" },
            { allow: true, type: "c", major: 10, minor: 200, access: "rw" },
          ];
        },
      });
      live.push({ rt: r, id });
      await runtimeOk(r, ["create", "--bundle", bundle, id], work);
      await runtimeOk(r, ["start", id], work);
      const report = await waitForText(join(vol, "report"), "done\n");
      expect(report).toContain("4\nnull-ok\n");
      expect(report).toContain("tun-opened\n");
      expect(report).toMatch(/^fuse refused: .*Operation not permitted$/m);
    });
  });

  // CVE-2019-5736: a process in the container that can open the runtime's executable through
  // /proc/<pid>/exe reaches the host's file. The classic way in, an image whose binary is a script
  // with `#!/proc/self/exe` run by an exec probe, the kernel of this machine already refuses
  // (ENOENT for an interpreter outside the root); a pod sharing its pid namespace gets in anyway:
  // the init of a created container waits for `start` inside the shared namespace, running the
  // runtime with the container's uid and capabilities. The attacker, a container of the same
  // pod, opens its executable and tries to overwrite it, make it setuid and world-writable, and
  // give it away.
  const selfExeScript = `end=$(($(date +%s) + 5))
    while [ $(date +%s) -lt $end ]; do
      for p in /proc/[0-9]*; do
        exe=$(readlink $p/exe) || continue
        [ "$exe" = /bin/busybox ] && continue
        (exec 3<$p/exe) 2>/dev/null || continue
        exec 3<$p/exe
        echo "runtime exe: $exe"
        if r=$( (echo pwned >/proc/self/fd/3) 2>&1); then echo "write: done"; else echo "write: refused: $r"; fi
        chmod 4777 /proc/self/fd/3 && echo "chmod: done"
        chown 65534:65534 /proc/self/fd/3 && echo "chown: done"
        exit 0
      done
    done
    echo "runtime exe: none reachable"`;

  const runtimesForSelfExe: { kind: RuntimeKind; source: string }[] = [
    { kind: "kshim", source: SHIM },
    ...peers.map((kind) => ({ kind: kind as RuntimeKind, source: which(kind)! })),
  ];
  describe.each(runtimesForSelfExe)(
    "the runtime's executable from a shared pid namespace on $kind",
    ({ kind, source }) => {
      it("cannot be changed on the host", async () => {
        // a copy, so that a regression damages nothing but this test's own file
        const binary = join(work, `${kind}-copy`);
        copyFileSync(source, binary);
        const before = { hash: sha256(binary), ...statSync(binary) };
        const r = ociRuntime(kind, join(work, `state-${kind}`), binary);
        const attacker = newId("selfexe");
        const { bundle, vol } = await attackBundle(attacker, {
          args: ["sh", "-c", `(${selfExeScript}) >/vol/report 2>&1; echo done >>/vol/report; sleep 600`],
        });
        live.push({ rt: r, id: attacker });
        await runtimeOk(r, ["create", "--bundle", bundle, attacker], work);
        await runtimeOk(r, ["start", attacker], work);
        const { pid } = JSON.parse((await runtimeOk(r, ["state", attacker], work)).stdout) as { pid: number };
        const victim = newId("victim");
        const shared = await attackBundle(victim, {
          args: ["sleep", "600"],
          edit: (c) => {
            const ns = (c.linux as { namespaces: { type: string; path?: string }[] }).namespaces;
            ns.find((n) => n.type === "pid")!.path = `/proc/${pid}/ns/pid`;
          },
        });
        live.push({ rt: r, id: victim });
        await runtimeOk(r, ["create", "--bundle", shared.bundle, victim], work);
        const report = await waitForText(join(vol, "report"), "done\n");
        // kshim's waiting init can be opened, and is the sealed copy (a write is refused: it is
        // sealed, and busy while it runs); the attacker could not open crun's or runc's at all
        if (kind === "kshim") expect(report).toMatch(/^runtime exe: \/memfd:kshim \(deleted\)$/m);
        expect(report).not.toContain(`runtime exe: ${binary}`);
        if (!report.includes("runtime exe: none reachable")) expect(report).toMatch(/^write: refused: /m);
        const after = statSync(binary);
        expect(sha256(binary)).toBe(before.hash);
        expect(after.mode.toString(8)).toBe(before.mode.toString(8));
        expect([after.uid, after.gid]).toEqual([before.uid, before.gid]);
      });
    },
  );

  // A container writing as fast as it can must not fill the node's disk: the monitor rotates the
  // log (kubelet's containerLogMaxSize/MaxFiles), and the agent's reader still sees the end of it.
  describe("log flood on kshim", () => {
    it("keeps the log within max-size × max-files", async () => {
      const r = ociRuntime("kshim", join(work, "state-kshim"));
      const id = newId("flood");
      const logPath = join(work, id, "logs", "0.log");
      await mkdir(join(work, id, "logs"), { recursive: true });
      const maxSize = 256 * 1024;
      const { bundle } = await attackBundle(id, {
        // 20 MB of 1 KiB lines, then a last word
        args: ["sh", "-c", "yes $(head -c 1023 /dev/zero | tr '\\0' x) | head -n 20000; echo flood-over"],
        edit: (c) => {
          c.annotations = {
            "io.kctl.shim.log-path": logPath,
            "io.kctl.log.max-size": "256Ki",
            "io.kctl.log.max-files": "3",
          };
        },
      });
      live.push({ rt: r, id });
      await runtimeOk(r, ["create", "--bundle", bundle, id], work);
      await runtimeOk(r, ["start", id], work);
      await waitStopped(r, id, work, 60_000);
      const files = readdirSync(join(work, id, "logs")).sort();
      expect(files).toEqual(["0.log", "0.log.1", "0.log.2"]);
      const total = files.reduce((sum, f) => sum + statSync(join(work, id, "logs", f)).size, 0);
      // each file stops short of max-size: a record that would cross it starts the next file
      expect(total).toBeLessThanOrEqual(3 * maxSize);
      expect(total).toBeGreaterThan(2 * maxSize);
      let tail = "";
      await streamLog(logPath, (c) => (tail += c), { tailLines: 2 });
      expect(tail).toMatch(/^x{1023}\nflood-over\n$/);
    });
  });

  describe.each(["kshim", ...peers] as RuntimeKind[])("host kernel interfaces on %s", (kind) => {
    it.skipIf(!existsSync("/proc/sysrq-trigger"))(
      "refuses a write to /proc/sysrq-trigger (read-only path)",
      async () => {
        // h only prints the sysrq help to the kernel log, should the write ever go through
        const report = await attack(
          ociRuntime(kind, join(work, `state-${kind}`)),
          newId("sysrq"),
          `if r=$( (echo h >/proc/sysrq-trigger) 2>&1); then echo "sysrq: written"; else echo "sysrq: refused: $r"; fi`,
        );
        expect(report).toMatch(/^sysrq: refused: .*Read-only file system$/m);
      },
    );

    it.skipIf(!existsSync("/proc/kcore"))("reads nothing from /proc/kcore (masked path)", async () => {
      const report = await attack(
        ociRuntime(kind, join(work, `state-${kind}`)),
        newId("kcore"),
        "stat -c 'kcore: %F %t:%T' /proc/kcore; echo \"kcore bytes: $(head -c 4096 /proc/kcore | wc -c)\"",
      );
      expect(report).toContain("kcore: character special file 1:3\n");
      expect(report).toContain("kcore bytes: 0\n");
    });
  });
});
