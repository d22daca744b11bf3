/**
 * A pod's volumes on the host, under `<podDir>/volumes/<name>`: emptyDir (a directory, or a tmpfs
 * limited to sizeLimit with `medium: Memory`), configMap and secret (their keys written as files,
 * atomically, with `items` and modes honoured), hostPath (the host path itself). Containers get them
 * as bind mounts. `releaseVolumes` unmounts and removes everything the pod had.
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, normalize } from "node:path";
import { promisify } from "node:util";
import { quantityValue } from "../../controlplane/api/quantity.js";
import type { KeyToPath, Pod, Volume } from "../../proto/gen/api.js";
import type { BindMount } from "../runtime/oci/container-config.js";
import { keyValues, type ObjectLookup } from "./object-lookup.js";

const run = promisify(execFile);

export class VolumeError extends Error {
  constructor(volume: string, why: string) {
    super(`volume "${volume}": ${why}`);
    this.name = "VolumeError";
  }
}

async function writeKeys(
  dir: string,
  values: Record<string, string>,
  items: KeyToPath[] | undefined,
  mode: number,
  volume: string,
) {
  await mkdir(dir, { recursive: true });
  const entries = items?.length
    ? items.map((item) => {
        if (!item.key || values[item.key] === undefined)
          throw new VolumeError(volume, `key "${item.key}" not found`);
        return [item.path ?? item.key, values[item.key]!, item.mode ?? mode] as const;
      })
    : Object.entries(values).map(([k, v]) => [k, v, mode] as const);
  for (const [path, value, fileMode] of entries) {
    const target = normalize(join(dir, path));
    if (!target.startsWith(`${dir}/`)) throw new VolumeError(volume, `path "${path}" leaves the volume`);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.tmp`;
    await writeFile(tmp, value, { mode: fileMode });
    await chmod(tmp, fileMode);
    await rename(tmp, target);
  }
}

async function isMountPoint(path: string): Promise<boolean> {
  const mounts = await readFile("/proc/self/mounts", "utf8");
  return mounts.split("\n").some((l) => l.split(" ")[1] === path);
}

/** Makes every volume of the pod and returns the host path of each, by volume name. */
export async function prepareVolumes(
  pod: Pod,
  podDir: string,
  lookup: ObjectLookup,
): Promise<Map<string, string>> {
  const ns = pod.metadata.namespace ?? "default";
  const paths = new Map<string, string>();
  for (const v of pod.spec?.volumes ?? []) {
    const name = v.name ?? "";
    const dir = join(podDir, "volumes", name);
    paths.set(name, await prepareVolume(v, dir, ns, lookup));
  }
  return paths;
}

async function prepareVolume(v: Volume, dir: string, ns: string, lookup: ObjectLookup): Promise<string> {
  const name = v.name ?? "";
  if (v.hostPath) {
    const path = v.hostPath.path ?? "";
    const exists = await stat(path).then(
      () => true,
      () => false,
    );
    if (!exists) {
      if (v.hostPath.type === "DirectoryOrCreate" || !v.hostPath.type) await mkdir(path, { recursive: true });
      else throw new VolumeError(name, `hostPath ${path} does not exist (type ${v.hostPath.type})`);
    }
    return path;
  }
  if (v.emptyDir) {
    await mkdir(dir, { recursive: true });
    if (v.emptyDir.medium === "Memory" && !(await isMountPoint(dir))) {
      const size = v.emptyDir.sizeLimit ? `,size=${Math.ceil(quantityValue(v.emptyDir.sizeLimit))}` : "";
      await run("mount", ["-t", "tmpfs", "-o", `mode=0777${size}`, "tmpfs", dir]);
    }
    return dir;
  }
  if (v.configMap || v.secret) {
    const kind = v.configMap ? "ConfigMap" : "Secret";
    const src = v.configMap ?? v.secret!;
    const objName = v.configMap?.name ?? v.secret?.secretName ?? "";
    const values = await keyValues(lookup, kind, ns, objName);
    if (!values) {
      if (src.optional) {
        await mkdir(dir, { recursive: true });
        return dir;
      }
      throw new VolumeError(name, `${kind.toLowerCase()} "${objName}" not found`);
    }
    await writeKeys(dir, values, src.items, src.defaultMode ?? 0o644, name);
    return dir;
  }
  throw new VolumeError(name, "no supported source (emptyDir, configMap, secret, hostPath)");
}

/** The bind mounts of one container: each volumeMount at its mountPath (subPath inside it). */
export function volumeMounts(
  mounts: { name?: string; mountPath?: string; readOnly?: boolean; subPath?: string }[],
  paths: ReadonlyMap<string, string>,
): BindMount[] {
  return mounts.map((m) => {
    const source = paths.get(m.name ?? "");
    if (!source)
      throw new VolumeError(m.name ?? "", `mounted at ${m.mountPath} but not defined in spec.volumes`);
    return {
      source: m.subPath ? join(source, m.subPath) : source,
      destination: m.mountPath ?? "/",
      ...(m.readOnly ? { readOnly: true } : {}),
    };
  });
}

/** Unmounts tmpfs volumes and removes the pod's volume directories. Idempotent. */
export async function releaseVolumes(podDir: string): Promise<void> {
  const root = join(podDir, "volumes");
  const mounts = await readFile("/proc/self/mounts", "utf8");
  for (const line of mounts.split("\n")) {
    const target = line.split(" ")[1];
    if (target?.startsWith(`${root}/`)) await run("umount", ["-l", target]).catch(() => undefined);
  }
  await rm(root, { recursive: true, force: true });
}
