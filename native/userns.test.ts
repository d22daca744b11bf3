/**
 * User namespaces (`hostUsers: false`) on real containers, with the same bundles on kshim, its
 * sanitizer build, crun and runc: root in the container is an unprivileged id of a 65536-id range
 * on the host, and as such cannot read a host root-only file bind-mounted into the container
 * (the hostPath attack), although it holds CAP_DAC_OVERRIDE inside. Needs root.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runToExit, runtimeExec, runtimeOk, stateOf } from "./testing/oci-runtimes.js";
import { PROBE, peerRuntimes, useRuntimeFixture } from "./testing/runtime-fixture.js";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("native/userns.test.ts: SKIPPED, needs root (namespaces, cgroups, mounts)");

const RANGE = 65536;

type Config = Record<string, unknown> & {
  mounts: object[];
  linux: Record<string, unknown> & { namespaces: object[] };
};

/** The pod's user namespace: container ids 0..65535 are host ids base..base+65535. */
function inUserns(c: Config, base: number) {
  c.linux.namespaces.push({ type: "user" });
  c.linux.uidMappings = [{ containerID: 0, hostID: base, size: RANGE }];
  c.linux.gidMappings = [{ containerID: 0, hostID: base, size: RANGE }];
}

describe.skipIf(!isRoot)("user namespaces (as root)", () => {
  const fx = useRuntimeFixture("kshim-userns");
  let hostDir = "";
  let ranges = 0;
  /** A fresh range per container, as the agent gives one per pod. */
  const nextBase = () => 1_000_000 + RANGE * ranges++;

  beforeAll(async () => {
    // The container's root is nobody to the host: the bundle path must be traversable (as for
    // runc and crun), while the secret stays root-only.
    await chmod(fx.work, 0o711);
    hostDir = join(fx.work, "host-data");
    await mkdir(hostDir, { mode: 0o755 });
    await writeFile(join(hostDir, "secret"), "host root's secret\n", { mode: 0o600 });
  });

  const netnses: string[] = [];
  afterAll(() => {
    for (const ns of netnses) execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  });

  const hostPath = () => ({
    destination: "/tmp/host",
    type: "bind",
    source: hostDir,
    options: ["rbind", "rw"],
  });

  describe.each(peerRuntimes)("on %s", (kind) => {
    it("root in the container cannot read a host root-only file through a hostPath mount", async () => {
      const id = fx.newId("secret");
      const b = await fx.bundle(id, {
        args: [
          "sh",
          "-c",
          [
            "id",
            "cat /tmp/host/secret",
            `${PROBE} read:/tmp/host/secret`,
            "stat -c 'owner=%u mode=%a' /tmp/host/secret",
            "grep CapEff /proc/self/status",
          ].join("; "),
        ],
        mounts: [hostPath()],
        edit: (c) => inUserns(c as Config, nextBase()),
      });
      const r = await runToExit(fx.rt(kind), b, id, fx.work);
      expect(r.stderr).not.toMatch(/AddressSanitizer|runtime error/);
      expect(r.stderr).toContain("cat: can't open '/tmp/host/secret': Permission denied");
      expect(r.stdout).not.toContain("host root's secret");
      expect(r.stdout).toContain("uid=0(root) gid=0(root)");
      expect(r.stdout).toContain("read:/tmp/host/secret: Permission denied (errno 13)");
      // the host's root is unmapped here: the file shows the overflow id
      expect(r.stdout).toContain("owner=65534 mode=600");
      // CAP_DAC_OVERRIDE is held, but only over the namespace's own ids
      expect(r.stdout).toMatch(/CapEff:\s+00000000a80425fb/);
    });

    it("the host sees the container's root as the first id of its range", async () => {
      const id = fx.newId("ids");
      const base = nextBase();
      const b = await fx.bundle(id, { args: ["sleep", "600"], edit: (c) => inUserns(c as Config, base) });
      fx.track(fx.rt(kind), id);
      await runtimeOk(fx.rt(kind), ["create", "--bundle", b, id], fx.work);
      await runtimeOk(fx.rt(kind), ["start", id], fx.work);
      const { pid } = await stateOf(fx.rt(kind), id, fx.work);
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      expect(status).toMatch(new RegExp(`^Uid:\\t${base}\\t${base}\\t${base}\\t${base}$`, "m"));
      expect(status).toMatch(new RegExp(`^Gid:\\t${base}\\t${base}\\t${base}\\t${base}$`, "m"));
      expect(readFileSync(`/proc/${pid}/uid_map`, "utf8").trim().split(/\s+/)).toEqual([
        "0",
        String(base),
        String(RANGE),
      ]);
    });
  });

  // kshim only: on this config runc 1.1.5 fails (it cannot mount sysfs for a netns it does not
  // own) and crun 1.8.1 binds the host's /sys read-write despite the mount's "ro".
  describe.each(["kshim", "kshim-asan"] as const)("in a pod's network namespace on %s", (kind) => {
    it("runs with the pod's netns (owned by the host's user namespace) and a read-only /sys", async () => {
      const id = fx.newId("podnet");
      const ns = `kshim-userns-${process.pid}-${netnses.length}`;
      execFileSync("ip", ["netns", "add", ns]);
      netnses.push(ns);
      execFileSync("ip", ["-n", ns, "link", "add", "kveth0", "type", "veth", "peer", "name", "kveth1"]);
      const b = await fx.bundle(id, {
        args: ["sh", "-c", "ip link; grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1; id -u"],
        netnsPath: `/run/netns/${ns}`,
        edit: (c) => inUserns(c as Config, nextBase()),
      });
      const r = await runToExit(fx.rt(kind), b, id, fx.work);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain("kveth0");
      expect(r.stdout).toMatch(/^ro\n0\n$/m);
    });
  });

  describe.each(["kshim", "kshim-asan", "crun"] as const)("an idmapped volume on %s", (kind) => {
    it("belongs to the container's root, as the pod's emptyDir should, while a plain bind stays the host's", async () => {
      const id = fx.newId("idmap");
      const vol = join(fx.work, `vol-${id}`);
      await mkdir(vol, { mode: 0o755 });
      await writeFile(join(vol, "own"), "the pod's data\n", { mode: 0o600 });
      const b = await fx.bundle(id, {
        args: [
          "sh",
          "-c",
          [
            "stat -c 'vol owner=%u' /tmp/vol/own",
            "cat /tmp/vol/own",
            "echo written > /tmp/vol/new && echo write-ok",
            `${PROBE} read:/tmp/host/secret`,
          ].join("; "),
        ],
        mounts: [
          hostPath(),
          { destination: "/tmp/vol", type: "bind", source: vol, options: ["rbind", "rw", "idmap"] },
        ],
        edit: (c) => inUserns(c as Config, nextBase()),
      });
      const r = await runToExit(fx.rt(kind), b, id, fx.work);
      expect(r.stderr).not.toMatch(/AddressSanitizer|runtime error/);
      expect(r.stdout).toBe(
        "vol owner=0\nthe pod's data\nwrite-ok\nread:/tmp/host/secret: Permission denied (errno 13)\n",
      );
      // written as the container's root, stored as the id the volume shows it: the host's root
      expect(statSync(join(vol, "new")).uid).toBe(0);
    });
  });

  describe.each(["kshim", "kshim-asan"] as const)("exec on %s", (kind) => {
    it("joins the container's user namespace", async () => {
      const id = fx.newId("exec");
      const base = nextBase();
      const b = await fx.bundle(id, {
        args: ["sleep", "600"],
        mounts: [hostPath()],
        edit: (c) => inUserns(c as Config, base),
      });
      fx.track(fx.rt(kind), id);
      await runtimeOk(fx.rt(kind), ["create", "--bundle", b, id], fx.work);
      await runtimeOk(fx.rt(kind), ["start", id], fx.work);
      const r = await runtimeExec(
        fx.rt(kind),
        ["exec", id, "--", "sh", "-c", `id -u; cat /proc/self/uid_map; ${PROBE} read:/tmp/host/secret`],
        fx.work,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.split("\n")[0]).toBe("0");
      expect(r.stdout).toMatch(new RegExp(`^\\s+0\\s+${base}\\s+${RANGE}$`, "m"));
      expect(r.stdout).toContain("read:/tmp/host/secret: Permission denied (errno 13)");
    });
  });

  describe.each(["kshim", "kshim-asan"] as const)("rootfs on %s", (kind) => {
    it("is the container root's with io.kctl.rootfs.idmap, and nobody's without", async () => {
      const run = async (label: string, idmap: boolean) => {
        const id = fx.newId(label);
        const base = nextBase();
        const file = `/made-by-${id}`;
        const b = await fx.bundle(id, {
          args: ["sh", "-c", `touch ${file} 2>&1 && stat -c 'owner %u' ${file} && rm ${file}`],
          edit: (c) => {
            inUserns(c as Config, base);
            if (idmap) (c as Config).annotations = { "io.kctl.rootfs.idmap": "true" };
          },
        });
        fx.track(fx.rt(kind), id);
        return runToExit(fx.rt(kind), b, id, fx.work);
      };
      const mapped = await run("rootidmap", true);
      expect(mapped.exitCode, mapped.stderr).toBe(0);
      expect(mapped.stdout).toContain("owner 0");
      const plain = await run("rootplain", false);
      expect(plain.stdout).toMatch(/Permission denied/);
    });
  });

  describe("bad user namespace configs on kshim", () => {
    const refuse = async (label: string, edit: (c: Config) => void, message: RegExp) => {
      const id = fx.newId(label);
      const b = await fx.bundle(id, { args: ["true"], edit: (c) => edit(c as Config) });
      const rt = fx.rt("kshim-asan");
      const r = await runtimeExec(rt, ["create", "--bundle", b, id], fx.work);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/AddressSanitizer|runtime error/);
      expect((await runtimeExec(rt, ["state", id], fx.work)).code).not.toBe(0);
    };

    it("refuses io.kctl.rootfs.idmap without a user namespace or with another value", async () => {
      await refuse(
        "idmapnouserns",
        (c) => {
          c.annotations = { "io.kctl.rootfs.idmap": "true" };
        },
        /annotations\["io\.kctl\.rootfs\.idmap"\]: needs a user namespace/,
      );
      await refuse(
        "idmapvalue",
        (c) => {
          inUserns(c, 1_000_000);
          c.annotations = { "io.kctl.rootfs.idmap": "yes" };
        },
        /annotations\["io\.kctl\.rootfs\.idmap"\]: must be "true" or "false"/,
      );
    });

    it("names the field", async () => {
      await refuse(
        "nomaps",
        (c) => c.linux.namespaces.push({ type: "user" }),
        /linux\.uidMappings: a user namespace needs uid and gid mappings/,
      );
      await refuse(
        "nouserns",
        (c) => {
          c.linux.uidMappings = [{ containerID: 0, hostID: 1_000_000, size: RANGE }];
        },
        /linux\.uidMappings: mappings need a new user namespace/,
      );
      await refuse(
        "joinuserns",
        (c) => c.linux.namespaces.push({ type: "user", path: "/proc/1/ns/user" }),
        /linux\.namespaces\[5\]\.path: joining an existing user namespace is not supported/,
      );
      await refuse(
        "badsize",
        (c) => {
          inUserns(c, 1_000_000);
          c.linux.gidMappings = [{ containerID: 0, hostID: 1_000_000, size: 0 }];
        },
        /linux\.gidMappings\[0\]\.size: 0 is out of range/,
      );
      await refuse(
        "idmapnouserns",
        (c) => {
          c.mounts.push({ destination: "/v", type: "bind", source: "/tmp", options: ["rbind", "idmap"] });
        },
        /mounts\[6\]\.options: idmap needs a user namespace/,
      );
      await refuse(
        "idmaptmpfs",
        (c) => {
          inUserns(c, 1_000_000);
          c.mounts.push({ destination: "/v", type: "tmpfs", source: "tmpfs", options: ["idmap"] });
        },
        /mounts\[6\]\.options: idmap is for bind mounts/,
      );
      await refuse(
        "overlap",
        (c) => {
          inUserns(c, 1_000_000);
          c.linux.uidMappings = [
            { containerID: 0, hostID: 1_000_000, size: RANGE },
            { containerID: 100, hostID: 2_000_000, size: 1 },
          ];
        },
        /linux\.uidMappings: write \/proc\/\d+\/uid_map: (Operation not permitted|Invalid argument)/,
      );
    });
  });
});
