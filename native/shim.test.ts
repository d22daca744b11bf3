/**
 * The shim against real namespaces, cgroups and mounts, with the same bundles run under crun and
 * runc for the behaviours they share. Needs root; every container, cgroup, netns and temp dir made
 * here is removed in afterAll/afterEach even when a test fails.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxRootfs } from "../node-agent/runtime/images/busybox-rootfs.js";
import { type BundleOptions, DEFAULT_CAP_EFF, writeBundle } from "./testing/oci-bundle.js";
import {
  isHybrid,
  type OciRuntime,
  ociRuntime,
  parseCriLog,
  type RuntimeKind,
  runToExit,
  runtimeExec,
  runtimeOk,
  SHIM,
  stateOf,
  waitStopped,
} from "./testing/oci-runtimes.js";
import { type TestCgroupParent, testCgroupParent } from "./testing/test-cgroups.js";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("native/shim.test.ts: SKIPPED, needs root (namespaces, cgroups, mounts, netns)");

const hasCommand = (cmd: string) => {
  try {
    execFileSync(cmd, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

/** Pids of processes (other than this one) whose command line contains text. */
function processesMentioning(text: string): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, "utf8").includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(!isRoot)("kshim (as root)", () => {
  const tag = `kshim-test-${process.pid}-${Date.now().toString(36)}`;
  let work = "";
  let rootfs = "";
  let cgroups: TestCgroupParent;
  const runtimes = new Map<RuntimeKind, OciRuntime>();
  const live: { rt: OciRuntime; id: string }[] = [];
  const netnses: string[] = [];
  let seq = 0;

  const rt = (kind: RuntimeKind) => runtimes.get(kind)!;
  const newId = (label: string) => `${tag}-${label}-${seq++}`;
  const bundle = async (id: string, o: Omit<BundleOptions, "rootfs" | "cgroupsPath">) =>
    writeBundle(join(work, "bundles", id), { rootfs, cgroupsPath: `${cgroups.path}/${id}`, ...o });
  /** create + start, remembered for cleanup */
  const startDetached = async (r: OciRuntime, id: string, b: string) => {
    live.push({ rt: r, id });
    await runtimeOk(r, ["create", "--bundle", b, id], work);
    await runtimeOk(r, ["start", id], work);
  };

  beforeAll(async () => {
    if (!existsSync(SHIM)) throw new Error(`${SHIM} is missing: run make -C native (npm run build:native)`);
    work = await mkdtemp(join(tmpdir(), "kshim-test-"));
    rootfs = join(work, "rootfs");
    await buildBusyboxRootfs(rootfs);
    cgroups = testCgroupParent(tag);
    for (const kind of ["kshim", "kshim-asan", "kshim-v2", "crun", "runc"] as const) {
      runtimes.set(kind, ociRuntime(kind, join(work, `state-${kind}`)));
    }
  });

  afterEach(async () => {
    for (const { rt: r, id } of live.splice(0)) await runtimeExec(r, ["delete", "--force", id], work);
  });

  afterAll(async () => {
    for (const { rt: r, id } of live.splice(0)) await runtimeExec(r, ["delete", "--force", id], work);
    for (const ns of netnses) execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    cgroups?.remove();
    if (work !== "") await rm(work, { recursive: true, force: true });
  });

  // /proc/kcore is absent on kernels built without it; any masked file that exists will do.
  const maskedProbe =
    ["/proc/kcore", "/proc/keys", "/proc/timer_list"].find((p) => existsSync(p)) ?? "/proc/keys";
  const shared: RuntimeKind[] = ["kshim", "kshim-asan", ...(["crun", "runc"] as const).filter(hasCommand)];

  describe.each(shared)("isolation on %s", (kind) => {
    it("pid 1, hostname, hidden host processes, reduced caps, masks, exit code", async () => {
      const id = newId("iso");
      const script = [
        "echo pid=$$",
        "echo host=$(hostname)",
        `test -e /proc/${process.pid} && echo host-visible || echo host-invisible`,
        "grep CapEff /proc/self/status",
        `echo masked=$(wc -c < ${maskedProbe})`,
        // a masked directory: an empty read-only tmpfs over it
        "echo maskeddir=$(ls /sys/firmware | wc -l) $(touch /sys/firmware/x 2>&1 | grep -c 'Read-only')",
        "grep ' /proc/sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1 | sed s/^/procsys=/",
        "(mknod /tmp/blk b 7 0 && head -c 1 /tmp/blk) >/dev/null 2>&1 && echo devices-open || echo devices-denied",
        "echo oops >&2",
        "exit 7",
      ].join("; ");
      const b = await bundle(id, { args: ["sh", "-c", script], hostname: "iso-box" });
      const r = await runToExit(rt(kind), b, id, work);
      expect(r.exitCode, r.stderr).toBe(7);
      expect(r.stdout).toContain("pid=1\n");
      expect(r.stdout).toContain("host=iso-box\n");
      expect(r.stdout).toContain("host-invisible\n");
      expect(r.stdout).toMatch(new RegExp(`CapEff:\\s+${DEFAULT_CAP_EFF}`));
      expect(r.stdout).toContain("masked=0\n");
      expect(r.stdout).toContain("maskeddir=0 1\n");
      expect(r.stdout).toContain("procsys=ro\n");
      expect(r.stdout).toContain("devices-denied\n");
      expect(r.stderr).toContain("oops");
      expect(r.stderr).not.toMatch(/AddressSanitizer|runtime error/);
    });

    it("joins a given network namespace and sees its interfaces", async () => {
      const id = newId("net");
      const ns = `${tag}-${seq++}`.slice(-60);
      execFileSync("ip", ["netns", "add", ns]);
      netnses.push(ns);
      execFileSync("ip", ["-n", ns, "link", "add", "kveth0", "type", "veth", "peer", "name", "kveth1"]);
      const b = await bundle(id, { args: ["ip", "link"], netnsPath: `/run/netns/${ns}` });
      const r = await runToExit(rt(kind), b, id, work);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain("kveth0");
    });
  });

  describe.each(["kshim", "kshim-asan"] as const)("lifecycle on %s", (kind) => {
    it("logs both streams in the CRI format and reports state through the lifecycle", async () => {
      const id = newId("log");
      const b = await bundle(id, { args: ["sh", "-c", "echo out-line; echo err-line >&2; printf partial"] });
      live.push({ rt: rt(kind), id });
      await runtimeOk(rt(kind), ["create", "--bundle", b, id, "--pid-file", join(work, `${id}.pid`)], work);
      const created = await stateOf(rt(kind), id, work);
      expect(created.status).toBe("created");
      // The monitor is detached: not our child, in a session of its own, so the container outlives
      // the process that called create.
      const shim = JSON.parse(readFileSync(join(rt(kind).root, id, "shim.json"), "utf8"));
      const stat = readFileSync(`/proc/${shim.monitorPid}/stat`, "utf8");
      const [ppid, , sid] = stat
        .slice(stat.lastIndexOf(")") + 4)
        .split(" ")
        .map(Number);
      expect(ppid).not.toBe(process.pid);
      expect(sid).not.toBe(Number(readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")[3]));
      expect(Number(readFileSync(join(work, `${id}.pid`), "utf8"))).toBe(created.pid);
      await runtimeOk(rt(kind), ["start", id], work);
      const stopped = await waitStopped(rt(kind), id, work);
      expect(stopped).toMatchObject({ status: "stopped", exitCode: 0, signal: 0, oomKilled: false });
      const raw = readFileSync(stopped.logPath!, "utf8");
      expect(raw).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F out-line$/m);
      expect(raw).toMatch(/^\S+ stderr F err-line$/m);
      expect(parseCriLog(raw).stdout).toBe("out-line\npartial\n");
    });

    it("exec runs in the container's namespaces and cgroup with its exit code", async () => {
      const id = newId("exec");
      const b = await bundle(id, { args: ["sleep", "600"], hostname: "exec-box" });
      await startDetached(rt(kind), id, b);
      const script =
        "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; diff /proc/self/cgroup /proc/1/cgroup && echo same-cgroup; pwd; echo $FOO; exit 5";
      const r = await runtimeExec(
        rt(kind),
        ["exec", id, "--cwd", "/tmp", "--env", "FOO=bar", "--", "sh", "-c", script],
        work,
      );
      expect(r.code, r.stderr).toBe(5);
      expect(r.stdout.split("\n")).toEqual(["exec-box", "sleep 600 ", "same-cgroup", "/tmp", "bar", ""]);
      const missing = await runtimeExec(rt(kind), ["exec", id, "--", "no-such-binary"], work);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('process.args[0]: "no-such-binary" not found');
    });

    it("killing `kshim exec` kills the process it started in the container", async () => {
      const id = newId("execkill");
      const b = await bundle(id, { args: ["sleep", "600"] });
      await startDetached(rt(kind), id, b);
      const [cmd, argv] = rt(kind).command(["exec", id, "--", "sleep", "777"]);
      const cli = spawn(cmd, argv, { stdio: "ignore" });
      const inContainer = async () =>
        (await runtimeOk(rt(kind), ["exec", id, "--", "ps", "-o", "args"], work)).stdout.includes(
          "sleep 777",
        );
      for (let i = 0; i < 200 && !(await inContainer()); i++) await new Promise((r) => setTimeout(r, 10));
      expect(await inContainer()).toBe(true);
      cli.kill("SIGKILL");
      for (let i = 0; i < 200 && (await inContainer()); i++) await new Promise((r) => setTimeout(r, 10));
      expect(await inContainer()).toBe(false);
    });

    it("kill then delete leaves no process, cgroup, mount or state behind", async () => {
      const id = newId("kill");
      const b = await bundle(id, { args: ["sleep", "600"] });
      await startDetached(rt(kind), id, b);
      const running = await stateOf(rt(kind), id, work);
      expect(running.status).toBe("running");
      const shim = JSON.parse(readFileSync(join(rt(kind).root, id, "shim.json"), "utf8"));
      await runtimeOk(rt(kind), ["kill", id, "KILL"], work);
      const stopped = await waitStopped(rt(kind), id, work);
      expect(stopped).toMatchObject({ exitCode: 137, signal: 9, oomKilled: false });
      await runtimeOk(rt(kind), ["delete", id], work);
      expect(existsSync(`/proc/${running.pid}`)).toBe(false);
      expect(
        existsSync(`/proc/${shim.monitorPid}/stat`) &&
          !readFileSync(`/proc/${shim.monitorPid}/stat`, "utf8").includes(") Z"),
      ).toBe(false);
      for (const dir of shim.cgroupDirs as string[]) expect(existsSync(dir)).toBe(false);
      expect(existsSync(join(rt(kind).root, id))).toBe(false);
      expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(rootfs);
      const again = await runtimeExec(rt(kind), ["state", id], work);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain(`container "${id}" does not exist`);
    });

    it("a create that fails half-way leaves nothing behind and names the failing step", async () => {
      const id = newId("fail");
      const b = await bundle(id, {
        args: ["sh"],
        mounts: [
          { destination: "/data", type: "bind", source: join(work, "no-such-dir"), options: ["rbind"] },
        ],
      });
      const r = await runtimeExec(rt(kind), ["create", "--bundle", b, id], work);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/mounts\[6\]\.source .*no-such-dir: No such file or directory/);
      expect(existsSync(join(rt(kind).root, id))).toBe(false);
      for (const h of ["memory", "pids", "cpu"]) {
        expect(existsSync(join("/sys/fs/cgroup", h, cgroups.path, id))).toBe(false);
      }
      expect(processesMentioning(id)).toEqual([]);
    });
  });

  describe("limits and signals on kshim", () => {
    it("kills a process allocating past the memory limit and reports it OOM-killed", async () => {
      const id = newId("oom");
      const b = await bundle(id, {
        args: [
          "sh",
          "-c",
          "dd if=/dev/zero of=/dev/null bs=128M count=1; exec dd if=/dev/zero of=/dev/null bs=256M count=4",
        ],
        memoryLimit: 32 * 1024 * 1024,
      });
      await startDetached(rt("kshim"), id, b);
      const s = await waitStopped(rt("kshim"), id, work);
      expect(s).toMatchObject({ status: "stopped", oomKilled: true, signal: 9, exitCode: 137 });
    });

    it("stops a fork bomb at the pids limit", async () => {
      const id = newId("pids");
      const b = await bundle(id, { args: ["sleep", "600"], pidsLimit: 16 });
      await startDetached(rt("kshim"), id, b);
      const bomb = await runtimeExec(
        rt("kshim"),
        ["exec", id, "--", "sh", "-c", "while true; do sleep 600 & done"],
        work,
      );
      expect(bomb.code).not.toBe(0);
      expect(bomb.stderr).toContain("can't fork");
      const shim = JSON.parse(readFileSync(join(rt("kshim").root, id, "shim.json"), "utf8"));
      const dir = (shim.cgroupDirs as string[]).find((d) => d.includes("/pids/")) ?? shim.cgroupDirs[0];
      expect(Number(readFileSync(join(dir, "pids.current"), "utf8"))).toBeLessThanOrEqual(16);
      expect(readFileSync(join(dir, "pids.events"), "utf8")).toMatch(/^max [1-9]/m);
    });

    it("propagates the signal that ended the init", async () => {
      const id = newId("sig");
      const b = await bundle(id, {
        args: ["sh", "-c", "trap 'exit 42' TERM; while true; do sleep 0.05; done"],
      });
      await startDetached(rt("kshim"), id, b);
      // pid 1 ignores SIGTERM until the shell has installed its trap, so send it until it lands.
      let s: Awaited<ReturnType<typeof waitStopped>> | undefined;
      for (let i = 0; i < 40 && !s; i++) {
        await runtimeOk(rt("kshim"), ["kill", id, "SIGTERM"], work);
        s = await waitStopped(rt("kshim"), id, work, 250).catch(() => undefined);
      }
      expect(s).toMatchObject({ exitCode: 42, signal: 0 });
    });

    it("run waits for the container and returns its exit code", async () => {
      const id = newId("run");
      const b = await bundle(id, { args: ["sh", "-c", "exit 3"] });
      live.push({ rt: rt("kshim"), id });
      const r = await runtimeExec(rt("kshim"), ["run", "--bundle", b, id], work);
      expect(r.code).toBe(3);
      expect(existsSync(join(rt("kshim").root, id))).toBe(false);
    });

    it("run --detach returns with the container running; one that cannot start leaves nothing", async () => {
      const id = newId("detach");
      const b = await bundle(id, { args: ["sleep", "600"] });
      live.push({ rt: rt("kshim"), id });
      await runtimeOk(rt("kshim"), ["run", "--detach", "--bundle", b, id], work);
      expect((await stateOf(rt("kshim"), id, work)).status).toBe("running");

      const bad = newId("detach-bad");
      const bb = await bundle(bad, { args: ["/no/such/program"] });
      const r = await runtimeExec(rt("kshim"), ["run", "-d", "--bundle", bb, bad], work);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("/no/such/program");
      expect(existsSync(join(rt("kshim").root, bad))).toBe(false);
      expect(processesMentioning(bad)).toEqual([]);
    });
  });

  // On a pure v2 host every test above runs on v2; on a hybrid host this runs the v2 manager
  // against the cgroup2 mount, which holds no controllers there, so it checks placement only.
  describe.skipIf(!isHybrid())("cgroup v2 manager (hybrid host's unified mount)", () => {
    it("runs the container and its exec in the unified cgroup and removes it on delete", async () => {
      const v2 = rt("kshim-v2");
      const id = newId("v2");
      const b = await bundle(id, { args: ["sleep", "600"] });
      await startDetached(v2, id, b);
      const dir = join("/sys/fs/cgroup/unified", cgroups.path, id);
      const { pid } = await stateOf(v2, id, work);
      expect(readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")).toContain(String(pid));
      const r = await runtimeOk(v2, ["exec", id, "--", "cat", "/proc/self/cgroup"], work);
      // the container's own cgroup namespace, rooted at its cgroup, which exec joins too
      expect(r.stdout).toContain("0::/\n");
      await runtimeOk(v2, ["delete", "--force", id], work);
      expect(existsSync(dir)).toBe(false);
    });

    it("fails a limit whose controller the hierarchy lacks, naming the file, and cleans up", async () => {
      const v2 = rt("kshim-v2");
      const id = newId("v2lim");
      const b = await bundle(id, { args: ["true"], pidsLimit: 10 });
      const r = await runtimeExec(v2, ["create", "--bundle", b, id], work);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`open /sys/fs/cgroup${cgroups.path}/${id}/pids.max: No such file`));
      expect(existsSync(join("/sys/fs/cgroup/unified", cgroups.path, id))).toBe(false);
      expect(existsSync(join(v2.root, id))).toBe(false);
    });
  });

  // The config `runc spec` / `crun spec` write, with only what a terminal-less test must change:
  // its cgroup mount shows the container's own cgroup, read-only, through its cgroup namespace.
  const specTools = (["runc", "crun"] as const).filter(hasCommand);
  const specRuntimes: RuntimeKind[] = ["kshim-asan", ...(isHybrid() ? (["kshim-v2"] as const) : [])];
  describe.each(specTools.flatMap((tool) => specRuntimes.map((kind) => ({ tool, kind }))))(
    "`$tool spec` config on $kind",
    ({ tool, kind }) => {
      it("runs unchanged, cgroup mount included", async () => {
        const id = newId(`${tool}spec`);
        const dir = join(work, "bundles", id);
        await mkdir(dir, { recursive: true });
        execFileSync(tool, ["spec"], { cwd: dir });
        const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
        expect(config.mounts).toContainEqual(
          expect.objectContaining({ destination: "/sys/fs/cgroup", type: "cgroup" }),
        );
        config.process.terminal = false;
        const script = [
          "cat /proc/self/cgroup",
          "ls /sys/fs/cgroup | tr '\\n' ' '; echo",
          "touch /sys/fs/cgroup/x 2>&1",
          "exit 4",
        ].join("; ");
        config.process.args = ["sh", "-c", script];
        config.root.path = rootfs;
        config.linux.cgroupsPath = `${cgroups.path}/${id}`;
        await writeFile(join(dir, "config.json"), JSON.stringify(config));
        const r = await runToExit(rt(kind), dir, id, work);
        expect(r.exitCode, r.stderr).toBe(4);
        // its own cgroup is the root of every hierarchy it sees
        for (const line of r.stdout.split("\n").filter((l) => /^\d+:/.test(l))) {
          if (kind === "kshim-v2" ? line.startsWith("0::") : /:(memory|pids):/.test(line))
            expect(line).toMatch(/:\/$/);
        }
        if (kind === "kshim-v2") {
          expect(r.stdout).toMatch(/cgroup\.procs/);
        } else {
          expect(r.stdout).toMatch(/\bmemory\b.*\bpids\b/);
        }
        expect(r.stdout).toMatch(/touch: \/sys\/fs\/cgroup\/x: Read-only file system/);
      });
    },
  );

  describe.each(["kshim", "kshim-asan"] as const)("exec --tty on %s", (kind) => {
    /** Spawns `exec --tty --resize-fd 3`; resolves with everything the terminal printed. */
    const ttyExec = (id: string, script: string) => {
      const [cmd, argv] = rt(kind).command([
        "exec",
        id,
        "--tty",
        "--resize-fd",
        "3",
        "--",
        "sh",
        "-c",
        script,
      ]);
      const child = spawn(cmd, argv, { stdio: ["pipe", "pipe", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
        child.on("close", (code) => resolve({ code, out, err })),
      );
      const printed = async (text: string) => {
        for (let i = 0; i < 500 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 10));
        expect(out).toContain(text);
      };
      return { child, resize: child.stdio[3] as NodeJS.WritableStream, done, printed };
    };

    it("gives the process a controlling terminal, relays input and output, applies resizes", async () => {
      const id = newId("tty");
      await startDetached(rt(kind), id, await bundle(id, { args: ["sleep", "600"] }));
      const t = ttyExec(
        id,
        "read a; echo got=$a; read b; stty size; test -t 0 && test -t 1 && echo on-a-tty; exit 3",
      );
      t.child.stdin.write("typed\n");
      await t.printed("got=typed");
      // in the kernel's pipe before the input that runs stty, so kshim applies it first
      await new Promise((resolve) => t.resize.write("40 100\n", resolve));
      t.child.stdin.write("go\n");
      const r = await t.done;
      expect(r.code, r.err).toBe(3);
      // the terminal echoes input and ends lines with CR LF, as a terminal does
      expect(r.out).toContain("typed\r\ngot=typed\r\n");
      expect(r.out).toContain("40 100\r\n");
      expect(r.out).toContain("on-a-tty\r\n");
    });

    it("refuses a malformed resize line and kills the process", async () => {
      const id = newId("ttybad");
      await startDetached(rt(kind), id, await bundle(id, { args: ["sleep", "600"] }));
      const t = ttyExec(id, "sleep 888");
      t.resize.write("40 x\n");
      const r = await t.done;
      expect(r.code).toBe(1);
      expect(r.err).toContain('console: resize "40 x": want "ROWS COLS" (0..65535)');
      const ps = await runtimeOk(rt(kind), ["exec", id, "--", "ps", "-o", "args"], work);
      expect(ps.stdout).not.toContain("sleep 888");
    });

    it("refuses --resize-fd without --tty or on a closed descriptor", async () => {
      const id = newId("ttyargs");
      await startDetached(rt(kind), id, await bundle(id, { args: ["sleep", "600"] }));
      const noTty = await runtimeExec(rt(kind), ["exec", id, "--resize-fd", "0", "--", "true"], work);
      expect(noTty.code).toBe(1);
      expect(noTty.stderr).toContain('--resize-fd "0": not an open file descriptor above 2');
      const closed = await runtimeExec(rt(kind), ["exec", id, "--resize-fd", "77", "--", "true"], work);
      expect(closed.stderr).toContain('--resize-fd "77": not an open file descriptor above 2');
    });
  });

  describe.each(["kshim", "kshim-asan"] as const)("attachable stdin on %s", (kind) => {
    const withStdin = (mode: string) => (c: Record<string, unknown>) =>
      Object.assign(c, { annotations: { "io.kctl.shim.stdin": mode } });
    /** Connects to the container's attach socket, sends `text`, then closes the connection. */
    const attachSend = (id: string, text: string) =>
      new Promise<void>((resolve, reject) => {
        const sock = connect(join(rt(kind).root, id, "attach.sock"), () => sock.end(text));
        sock.on("close", () => resolve());
        sock.on("error", reject);
      });
    const logged = async (id: string, text: string) => {
      const log = join(rt(kind).root, id, "container.log");
      const stdout = () => (existsSync(log) ? parseCriLog(readFileSync(log, "utf8")).stdout : "");
      for (let i = 0; i < 500 && !stdout().includes(text); i++) await new Promise((r) => setTimeout(r, 10));
      return stdout();
    };
    const echoLoop = ["sh", "-c", 'while read l; do echo "in:$l"; done; echo eof'];

    it("open: each client's bytes reach the container's stdin, which stays open between clients", async () => {
      const id = newId("stdin");
      await startDetached(rt(kind), id, await bundle(id, { args: echoLoop, edit: withStdin("open") }));
      const mode = statSync(join(rt(kind).root, id, "attach.sock")).mode & 0o777;
      expect(mode).toBe(0o600);
      await attachSend(id, "first\n");
      expect(await logged(id, "in:first")).toBe("in:first\n");
      await attachSend(id, "second\n");
      expect(await logged(id, "in:second")).toBe("in:first\nin:second\n");
      expect((await stateOf(rt(kind), id, work)).status).toBe("running");
    });

    it("once: the container reads EOF when the first client disconnects", async () => {
      const id = newId("stdinonce");
      await startDetached(rt(kind), id, await bundle(id, { args: echoLoop, edit: withStdin("once") }));
      await attachSend(id, "only\n");
      expect(await logged(id, "eof")).toBe("in:only\neof\n");
      expect(await waitStopped(rt(kind), id, work)).toMatchObject({ exitCode: 0 });
    });

    it("without the annotation the container's stdin is /dev/null and there is no socket", async () => {
      const id = newId("nostdin");
      await startDetached(rt(kind), id, await bundle(id, { args: echoLoop }));
      expect(await logged(id, "eof")).toBe("eof\n");
      expect(existsSync(join(rt(kind).root, id, "attach.sock"))).toBe(false);
    });

    it("refuses an unknown stdin mode, naming the annotation", async () => {
      const id = newId("stdinbad");
      const b = await bundle(id, { args: ["true"], edit: withStdin("always") });
      const r = await runtimeExec(rt(kind), ["create", "--bundle", b, id], work);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('annotations["io.kctl.shim.stdin"]: must be "open" or "once"');
      expect(existsSync(join(rt(kind).root, id))).toBe(false);
    });
  });

  describe("bad input on kshim", () => {
    const refuse = async (label: string, edit: (c: Record<string, unknown>) => void, message: RegExp) => {
      const id = newId(label);
      const b = await bundle(id, { args: ["true"], edit });
      const r = await runtimeExec(rt("kshim-asan"), ["create", "--bundle", b, id], work);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(existsSync(join(rt("kshim-asan").root, id))).toBe(false);
    };

    it("refuses unsupported isolation fields, naming the field", async () => {
      await refuse(
        "seccomp",
        (c) => Object.assign(c.linux as object, { seccomp: {} }),
        /linux\.seccomp\.defaultAction: required/,
      );
      await refuse(
        "userns",
        (c) => (c.linux as { namespaces: object[] }).namespaces.push({ type: "user" }),
        /linux\.uidMappings: a user namespace needs uid and gid mappings/,
      );
      await refuse("tty", (c) => Object.assign(c.process as object, { terminal: true }), /process\.terminal/);
      await refuse(
        "cap",
        (c) => Object.assign(c.process as object, { capabilities: { bounding: ["CAP_NOPE"] } }),
        /process\.capabilities\.bounding\[0\]: unknown capability "CAP_NOPE"/,
      );
      await refuse(
        "mnt",
        (c) => (c.mounts as object[]).push({ destination: "/x", type: "nfs", source: "h:/x" }),
        /mounts\[6\]\.type: "nfs" is not supported/,
      );
      await refuse(
        "mem",
        (c) => Object.assign(c.linux as object, { resources: { memory: { limit: "1G" } } }),
        /linux\.resources\.memory\.limit: must be an integer/,
      );
    });

    it("refuses bad device rules, log limits and cgroup mount options, naming the field", async () => {
      const devices = (rules: object[]) => (c: Record<string, unknown>) =>
        Object.assign(c.linux as object, { resources: { devices: rules } });
      await refuse(
        "devtype",
        devices([{ allow: true, type: "x", access: "r" }]),
        /linux\.resources\.devices\[0\]\.type: "x" is not a, b or c/,
      );
      await refuse(
        "devaccess",
        devices([{ allow: false }, { allow: true, type: "c", major: 1, minor: 3, access: "rwz" }]),
        /linux\.resources\.devices\[1\]\.access: "rwz" is not made of r, w and m/,
      );
      await refuse(
        "devallow",
        devices([{ type: "c", access: "r" }]),
        /linux\.resources\.devices\[0\]\.allow: required/,
      );
      await refuse(
        "devall",
        devices([{ allow: true, type: "a", major: 8 }]),
        /linux\.resources\.devices\[0\]: type "a" \(all devices\) takes no major or minor/,
      );
      await refuse(
        "devmajor",
        devices([{ allow: true, type: "b", major: 5000, minor: 0 }]),
        /linux\.resources\.devices\[0\]\.major: must be a device number up to 4095 or -1/,
      );
      const annotate = (key: string, value: string) => (c: Record<string, unknown>) => {
        c.annotations = { [key]: value };
      };
      await refuse(
        "logsize",
        annotate("io.kctl.log.max-size", "10MB"),
        /annotations\["io\.kctl\.log\.max-size"\]: "10MB" is not a size/,
      );
      await refuse(
        "logfiles",
        annotate("io.kctl.log.max-files", "1"),
        /annotations\["io\.kctl\.log\.max-files"\]: "1" is not a count in \[2, 1000\]/,
      );
      await refuse(
        "cgmount",
        (c) =>
          (c.mounts as object[]).push({ destination: "/sys/fs/cgroup", type: "cgroup", options: ["rbind"] }),
        /mounts\[6\]\.options: a cgroup mount takes only flags/,
      );
    });

    it("refuses a cgroupsPath at the root of a hierarchy unless allowed", async () => {
      await refuse(
        "cgroot",
        (c) => Object.assign(c.linux as object, { cgroupsPath: "/" }),
        /at the root of the hierarchy/,
      );
      await refuse(
        "cgtop",
        (c) => Object.assign(c.linux as object, { cgroupsPath: "/kshim-top" }),
        /at the root of the hierarchy/,
      );
      await refuse(
        "cgdots",
        (c) => Object.assign(c.linux as object, { cgroupsPath: "a/../../b" }),
        /must not contain/,
      );
    });

    it("reports a missing bundle and a duplicate id", async () => {
      const r = await runtimeExec(
        rt("kshim"),
        ["create", "--bundle", join(work, "nope"), newId("nobundle")],
        work,
      );
      expect(r.stderr).toMatch(/bundle .*nope: No such file or directory/);
      const broken = join(work, "bundles", "broken");
      await mkdir(broken, { recursive: true });
      await writeFile(join(broken, "config.json"), '{"ociVersion": "1.0.2",\n');
      const bad = await runtimeExec(rt("kshim"), ["create", "--bundle", broken, newId("broken")], work);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/broken\/config\.json:2:0: /);
      const id = newId("dup");
      const b = await bundle(id, { args: ["sleep", "600"] });
      await startDetached(rt("kshim"), id, b);
      const dup = await runtimeExec(rt("kshim"), ["create", "--bundle", b, id], work);
      expect(dup.code).not.toBe(0);
      expect(dup.stderr).toContain(`container "${id}" already exists`);
      expect((await stateOf(rt("kshim"), id, work)).status).toBe("running");
    });
  });
});
