/**
 * One RUN step in a real container: kshim runs the command on the step's overlay rootfs with the
 * stage's env, workdir and user, in its own pid, mount, uts and ipc namespaces, a cgroup beneath
 * the builder's own, Docker's default capabilities, and either the host's network or a network
 * namespace of its own with nothing in it. The container's output is its CRI log, read back here.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ownHierarchies } from "../../node-agent/cgroups/hierarchies-linux.js";
import {
  containerConfig,
  defaultCapabilities,
  maskedPaths,
  readonlyPaths,
} from "../../node-agent/runtime/oci/container-config.js";
import {
  ImageUserError,
  lookupGroup,
  lookupUser,
  memberGroups,
  readAccounts,
  splitImageUser,
} from "../../node-agent/runtime/oci/image-user.js";
import { BuildError } from "./errors.js";

export interface RunStep {
  /** kshim binary. */
  runtime: string;
  /** Scratch dir of this step (bundle, state root, log). */
  dir: string;
  /** Container id: letters, digits, '-', '.'. */
  id: string;
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  /** `USER` as written (`name`, `uid`, `name:group`); root when empty. */
  user: string;
  network: "host" | "none";
  /** Names the step in errors (`Dockerfile:4: RUN`). */
  where: string;
  /** Told the container's output as it comes (whole lines). */
  onOutput?: (text: string) => void;
}

const CGROUP_PARENT = "kctl-build";

/**
 * Removes the steps' parent cgroup in every hierarchy when no step of any build is left in it
 * (a cgroup with children cannot be removed, so a build running beside this one keeps it).
 */
export async function removeStepCgroupParent(): Promise<void> {
  for (const h of await ownHierarchies().catch(() => [])) {
    await rmdir(join(h.ownDir, CGROUP_PARENT)).catch(() => undefined);
  }
}

export interface RunResult {
  exitCode: number;
  /** stdout and stderr interleaved as the container wrote them. */
  output: string;
}

/** Runs the step to its end; a non-zero exit is a result, not an error. */
export async function runStep(step: RunStep): Promise<RunResult> {
  const logPath = join(step.dir, "output.log");
  const bundle = join(step.dir, "bundle");
  await mkdir(bundle, { recursive: true });
  const config = containerConfig({
    rootfs: step.rootfs,
    args: step.args,
    env: step.env,
    cwd: step.cwd,
    hostname: "kctl-build",
    netnsPath: `/proc/${process.pid}/ns/net`,
    // Relative: beneath the cgroup the builder runs in; kshim removes the step's own cgroup with
    // the container, removeStepCgroupParent the parent.
    cgroupsPath: `${CGROUP_PARENT}/${step.id}`,
    logPath,
    mounts: [],
    security: {
      user: await identity(step.rootfs, step.user, step.where),
      capabilities: [...defaultCapabilities],
      // Steps install setuid programs and switch users as docker build's do.
      noNewPrivileges: false,
      readonlyRootfs: false,
      maskedPaths: [...maskedPaths],
      readonlyPaths: [...readonlyPaths],
      privileged: false,
    },
  });
  if (step.network === "none") {
    const linux = config.linux as { namespaces: { type: string; path?: string }[] };
    linux.namespaces = linux.namespaces.map((ns) => (ns.type === "network" ? { type: "network" } : ns));
  }
  await writeFile(join(bundle, "config.json"), JSON.stringify(config));
  const follower = followLog(logPath, step.onOutput ?? (() => undefined));
  let result: { code: number; stderr: string };
  try {
    result = await kshim(step.runtime, [
      "--root",
      join(step.dir, "state"),
      "run",
      step.id,
      "--bundle",
      bundle,
    ]);
  } finally {
    await follower.stop();
  }
  const { code, stderr } = result;
  const output = criText(await readFile(logPath, "utf8").catch(() => ""));
  // kshim's own failures (bad config, mount refused) say so on its stderr with exit 1; the
  // container's exit code is whatever the command returned.
  if (code !== 0 && output === "" && stderr.startsWith("kshim:")) {
    throw new BuildError("SystemError", `${step.where}: ${stderr.trim()}`);
  }
  return { exitCode: code, output };
}

async function identity(
  rootfs: string,
  user: string,
  where: string,
): Promise<{ uid: number; gid: number; additionalGids: number[] }> {
  if (user === "" || user === "root") return { uid: 0, gid: 0, additionalGids: [] };
  try {
    const accounts = await readAccounts(rootfs);
    const split = splitImageUser(user);
    const found = lookupUser(accounts, split.user);
    const gid = split.group !== undefined ? lookupGroup(accounts, split.group) : found.gid;
    return { uid: found.uid, gid, additionalGids: memberGroups(accounts, found.name) };
  } catch (err) {
    if (err instanceof ImageUserError)
      throw new BuildError("Invalid", `${where}: USER ${user}: ${err.message}`);
    throw err;
  }
}

function kshim(binary: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", (err) =>
      reject(new BuildError("SystemError", `cannot run ${binary}: ${err.message}`)),
    );
    child.once("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stderr }));
  });
}

/**
 * Reads the CRI log at `path` while the container runs (every 100 ms) and hands on the text of
 * each complete line; `stop` reads what is left.
 */
function followLog(path: string, emit: (text: string) => void): { stop(): Promise<void> } {
  let offset = 0;
  let partial = "";
  const poll = async () => {
    const data = await readFile(path).catch(() => undefined);
    if (data === undefined || data.length <= offset) return;
    const text = partial + data.subarray(offset).toString("utf8");
    offset = data.length;
    const end = text.lastIndexOf("\n") + 1;
    partial = text.slice(end);
    const lines = criText(text.slice(0, end));
    if (lines !== "") emit(lines);
  };
  let polling = Promise.resolve();
  const timer = setInterval(() => {
    polling = polling.then(poll);
  }, 100);
  return {
    async stop() {
      clearInterval(timer);
      await polling;
      await poll();
    },
  };
}

/** The text of a CRI log (`<time> <stream> <F|P> <text>` lines). */
function criText(log: string): string {
  let out = "";
  for (const line of log.split("\n")) {
    const m = /^\S+ (?:stdout|stderr) ([FP]) (.*)$/.exec(line);
    if (m) out += m[2] + (m[1] === "F" ? "\n" : "");
  }
  return out;
}
