/**
 * Writes OCI bundles (config.json next to a rootfs) for the shim, crun and runc tests and the
 * benchmark. The defaults are what the node agent will ask for: pid/mount/uts/ipc/net namespaces,
 * Docker's default capability set, runc's masked and read-only paths.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  defaultCapabilities,
  defaultMounts,
  maskedPaths,
  readonlyPaths,
} from "../../node-agent/runtime/oci/container-config.js";

/** Docker's default capabilities, as the node agent asks for them. */
export const DEFAULT_CAPS: readonly string[] = defaultCapabilities;
export const DEFAULT_CAP_EFF = "00000000a80425fb";

export interface BundleOptions {
  /** Absolute path of the rootfs (shared between bundles; /dev is a tmpfs so nothing is written). */
  rootfs: string;
  args: string[];
  /** Absolute cgroupsPath (see testCgroupParent) so that every runtime places it the same way. */
  cgroupsPath: string;
  hostname?: string;
  env?: string[];
  /** Join this network namespace instead of making one. */
  netnsPath?: string;
  memoryLimit?: number;
  pidsLimit?: number;
  /** Extra mounts appended after the defaults. */
  mounts?: object[];
  /** Last-minute edits of the generated config (for bad-input tests). */
  edit?: (config: Record<string, unknown>) => void;
}

/** The config.json object for these options. */
export function ociConfig(o: BundleOptions): Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  if (o.memoryLimit !== undefined) resources.memory = { limit: o.memoryLimit, swap: o.memoryLimit };
  if (o.pidsLimit !== undefined) resources.pids = { limit: o.pidsLimit };
  const config: Record<string, unknown> = {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: o.args,
      env: o.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: o.rootfs, readonly: false },
    hostname: o.hostname ?? "kshim",
    mounts: [
      // Copies: tests' `edit` may change the config, never the shared defaults.
      ...structuredClone(defaultMounts),
      ...(o.mounts ?? []),
    ],
    linux: {
      namespaces: [
        { type: "pid" },
        o.netnsPath !== undefined ? { type: "network", path: o.netnsPath } : { type: "network" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
      ],
      cgroupsPath: o.cgroupsPath,
      resources,
      maskedPaths: [...maskedPaths],
      readonlyPaths: [...readonlyPaths],
    },
  };
  o.edit?.(config);
  return config;
}

/** Writes <dir>/config.json (dir is created) and returns dir. */
export async function writeBundle(dir: string, o: BundleOptions): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "config.json"), JSON.stringify(ociConfig(o), null, 2));
  return dir;
}
