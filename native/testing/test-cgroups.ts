/**
 * A cgroup parent for test and benchmark containers, beneath the cgroup this process runs in, and
 * its removal afterwards (processes left in it are SIGKILLed first: only containers the test made
 * live there). On v1 the parent is one absolute path valid beneath the caller's cgroup of every
 * controller, so that crun (which resolves relative paths from the hierarchy root) and runc and the
 * shim all place containers at the same spot.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = "/sys/fs/cgroup";

export interface TestCgroupParent {
  /** Absolute cgroup path (from a hierarchy root) under which containers go: `${path}/<id>`. */
  path: string;
  /** Removes every cgroup under path in every hierarchy, and the ancestors this parent made. */
  remove(): void;
}

function ownCgroups(): string[] {
  return readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split(":").slice(2).join(":"));
}

function hierarchies(): string[] {
  const pureV2 = existsSync(join(ROOT, "cgroup.controllers"));
  if (pureV2) return [ROOT];
  return readdirSync(ROOT)
    .map((d) => join(ROOT, d))
    .filter((d) => statSync(d).isDirectory());
}

function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeTree(join(dir, entry.name));
  }
  const procs = join(dir, "cgroup.procs");
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      for (const pid of readFileSync(procs, "utf8").split("\n").filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // already gone
        }
      }
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/** Makes the parent path name (nothing is created until a runtime creates a container in it). */
export function testCgroupParent(name: string): TestCgroupParent {
  const owns = ownCgroups();
  const deepest = owns.reduce((a, b) => (b.length > a.length ? b : a), "/");
  for (const own of owns) {
    if (!(deepest === own || deepest.startsWith(own === "/" ? "/" : `${own}/`))) {
      throw new Error(`testCgroupParent: own cgroups ${owns.join(", ")} do not nest; cannot pick one parent`);
    }
  }
  const path = `${deepest === "/" ? "" : deepest}/${name}`;
  // Ancestors of path that do not exist yet in some hierarchy are made by the runtimes; remember
  // them so that remove() takes them away again.
  const missing: string[] = [];
  for (const h of hierarchies()) {
    const parts = path.split("/").filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const dir = join(h, ...parts.slice(0, i));
      if (!existsSync(dir)) missing.push(dir);
    }
  }
  return {
    path,
    remove() {
      for (const h of hierarchies()) removeTree(join(h, path));
      for (const dir of missing.sort((a, b) => b.length - a.length)) {
        try {
          rmdirSync(dir);
        } catch {
          // not made after all, or shared with a concurrent test
        }
      }
    },
  };
}
