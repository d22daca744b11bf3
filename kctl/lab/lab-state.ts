/**
 * The lab state file: what a lab is made of (namespaces, links, routes, cgroups, processes, ports),
 * written atomically after every step of `lab up` so that `lab down` can undo exactly what exists,
 * even after `lab up` died half-way. Also the registry that maps a lab name to its lab directory.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LabError } from "./errors.js";
import type { LabAddresses } from "./lab-names.js";

export const DEFAULT_LABS_ROOT = "/var/lib/kctl/labs";
/** Lab name → lab directory links; on tmpfs, like the namespaces, so a reboot clears both. */
export const DEFAULT_REGISTRY_DIR = "/run/kctl/labs";

/*
 * A lab dir holds only what the lab writes:
 *   lab.json            the state file
 *   logs/<component>.log  stdout and stderr of each component
 *   state/<component>/    each component's own state dir (etcd data, pod dirs, mounts)
 */
export const STATE_FILE = "lab.json";
export const LOGS_DIR = "logs";
export const COMPONENTS_DIR = "state";

export function componentStateDir(labDir: string, component: string): string {
  return join(labDir, COMPONENTS_DIR, component);
}

export function componentLogFile(labDir: string, component: string): string {
  return join(labDir, LOGS_DIR, `${component}.log`);
}

/** The last `lines` lines of every log in the lab's logs dir, including a component that died unrecorded. */
export async function logTails(labDir: string, lines: number): Promise<string> {
  const dir = join(labDir, LOGS_DIR);
  const parts: string[] = [];
  for (const file of (await readdir(dir).catch(() => [] as string[])).sort()) {
    const path = join(dir, file);
    const tail = (await readFile(path, "utf8").catch(() => "")).trimEnd().split("\n").slice(-lines);
    parts.push(`--- ${file.replace(/\.log$/, "")} (${path}, last ${lines} lines) ---\n${tail.join("\n")}`);
  }
  return parts.length ? `\n${parts.join("\n")}` : "";
}

export interface LabNode {
  name: string;
  namespace: string;
  address: string;
}

export interface LabProcess {
  /** `controlplane` or the node name. */
  name: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a recycled pid from ours. */
  startTime: string;
  argv: string[];
  namespace: string;
  stateDir: string;
  logFile: string;
  /** The process's own cgroup directory in every hierarchy. */
  cgroups: string[];
}

export interface LabState {
  version: 1;
  name: string;
  labDir: string;
  phase: "creating" | "ready";
  createdAt: string;
  nodeCount: number;
  /** How many routed subnets the hosts are on; absent: one. */
  subnets?: number;
  /** The components profile the lab was made with (see components.ts). */
  components: string;
  /** Bootstrap token shared by the control plane and the agents of this lab. */
  token: string;
  addresses?: LabAddresses;
  /** Set once the lab namespace exists. */
  labNamespace?: string;
  /** The root-namespace veth and the /32 route to the gateway through it. */
  rootVeth?: string;
  rootRoute?: string;
  nodes: LabNode[];
  /** The lab's cgroup subtree root in every hierarchy. */
  cgroups: string[];
  processes: LabProcess[];
  /** Ports listened on inside the lab, by purpose (e.g. `apiserver`). */
  ports: Record<string, number>;
  /** The control plane URL for clients in the root namespace and in the hosts. */
  server?: string;
  clientConfig?: string;
  /** The lab's image registry (`10.x.y.1:5000`), reachable over plain HTTP from the hosts and the root. */
  registry?: string;
}

export function stateFilePath(labDir: string): string {
  return join(labDir, STATE_FILE);
}

/** Writes the state file so a reader sees either the previous or the new content, never a mix. */
export async function writeLabState(state: LabState): Promise<void> {
  const file = stateFilePath(state.labDir);
  const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600, flush: true });
  await rename(tmp, file);
}

/** Reads a lab's state file; undefined when there is none. A corrupt file is an error naming it. */
export async function readLabState(labDir: string): Promise<LabState | undefined> {
  const file = stateFilePath(labDir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const state = JSON.parse(text) as LabState;
    if (state.version !== 1 || typeof state.name !== "string") throw new Error("unknown format");
    return state;
  } catch (err) {
    throw new LabError("InvalidArgument", `${file}: not a lab state file: ${(err as Error).message}`);
  }
}

export async function removeLabState(labDir: string): Promise<void> {
  await rm(stateFilePath(labDir), { force: true });
}

/** Points the registry entry for `name` at `labDir`, replacing any earlier entry. */
export async function registerLab(registryDir: string, name: string, labDir: string): Promise<void> {
  await mkdir(registryDir, { recursive: true });
  const link = join(registryDir, name);
  await rm(link, { force: true });
  await symlink(labDir, link);
}

/** The lab directory registered for `name`, or undefined. */
export async function registeredLabDir(registryDir: string, name: string): Promise<string | undefined> {
  try {
    return await readlink(join(registryDir, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

export async function unregisterLab(registryDir: string, name: string): Promise<void> {
  await rm(join(registryDir, name), { force: true });
}

export interface LabTarget {
  name: string;
  /** The lab dir given on the command line (`--state-dir`); else the registry's, else the default. */
  labDir?: string;
  registryDir?: string;
}

/** Where lab `target.name` keeps its state. */
export async function locateLabDir(target: LabTarget): Promise<string> {
  if (target.labDir) return target.labDir;
  const registered = await registeredLabDir(target.registryDir ?? DEFAULT_REGISTRY_DIR, target.name);
  return registered ?? join(DEFAULT_LABS_ROOT, target.name);
}
