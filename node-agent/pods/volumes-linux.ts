/**
 * The pod's volumes on this node, under `<podDir>/volumes/<name>`: emptyDir (a directory, or a tmpfs
 * limited to `sizeLimit` when `medium: Memory`), configMap and secret (their keys as files, swapped
 * in atomically through a `..data` symlink like the kubelet's atomic writer, honouring `items`,
 * `defaultMode` and `optional`), and hostPath (checked against its `type`). It turns a container's
 * `volumeMounts` into bind mounts for its bundle. It never deletes anything outside the pod dir.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmod,
  lstat,
  mkdir,
  readdir,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { dirname, join, normalize } from "node:path";
import { promisify } from "node:util";
import { quantityValue } from "../../controlplane/api/quantity.js";
import type { Container, KeyToPath, Pod, Volume } from "../../proto/gen/api.js";
import { mountCount } from "../runtime/images/mountinfo-linux.js";
import type { BindMount } from "../runtime/shim/index.js";
import { configMapData, type ObjectLookup, secretData } from "./object-lookup.js";

const run = promisify(execFile);

export class VolumeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "VolumeError";
  }
}

export function volumesDir(podDir: string): string {
  return join(podDir, "volumes");
}

/**
 * Makes every volume of the pod and returns the host path of each by name. Idempotent: an existing
 * emptyDir keeps its contents; configMap and secret files are rewritten. Throws `VolumeError`
 * naming `spec.volumes[i]` when a volume cannot be made (a missing required ConfigMap, a hostPath of
 * the wrong type).
 */
export async function prepareVolumes(
  pod: Pod,
  podDir: string,
  lookup: ObjectLookup,
): Promise<Map<string, string>> {
  const paths = new Map<string, string>();
  const namespace = pod.metadata.namespace ?? "default";
  for (const [i, v] of (pod.spec?.volumes ?? []).entries()) {
    const where = `spec.volumes[${i}]`;
    const dir = join(volumesDir(podDir), safeName(v.name ?? "", `${where}.name`));
    paths.set(v.name ?? "", await prepareVolume(v, dir, where, namespace, lookup));
  }
  return paths;
}

async function prepareVolume(
  v: Volume,
  dir: string,
  where: string,
  namespace: string,
  lookup: ObjectLookup,
): Promise<string> {
  if (v.hostPath !== undefined)
    return checkHostPath(v.hostPath.path ?? "", v.hostPath.type ?? "", `${where}.hostPath`);
  if (v.emptyDir !== undefined) {
    await mkdir(dir, { recursive: true, mode: 0o777 });
    await chmod(dir, 0o777);
    if (v.emptyDir.medium === "Memory" && (await mountCount(dir)) === 0) {
      const size =
        v.emptyDir.sizeLimit !== undefined ? `,size=${Math.floor(quantityValue(v.emptyDir.sizeLimit))}` : "";
      await run("mount", ["-t", "tmpfs", "-o", `mode=0777${size}`, "tmpfs", dir]).catch((err: Error) => {
        throw new VolumeError(`${where}.emptyDir: mount tmpfs on ${dir}: ${err.message}`, { cause: err });
      });
    } else if (
      v.emptyDir.medium !== undefined &&
      v.emptyDir.medium !== "" &&
      v.emptyDir.medium !== "Memory"
    ) {
      throw new VolumeError(
        `${where}.emptyDir.medium: "${v.emptyDir.medium}" is not supported (use "" or "Memory")`,
      );
    }
    return dir;
  }
  if (v.configMap !== undefined) {
    const { name = "", items, defaultMode, optional } = v.configMap;
    const cm = await lookup.configMap(namespace, name);
    if (cm === undefined && !optional)
      throw new VolumeError(`${where}.configMap: configmap "${name}" not found`);
    await writeKeys(dir, cm ? configMapData(cm) : {}, items, defaultMode, `${where}.configMap`, optional);
    return dir;
  }
  if (v.secret !== undefined) {
    const { secretName = "", items, defaultMode, optional } = v.secret;
    const secret = await lookup.secret(namespace, secretName);
    if (secret === undefined && !optional)
      throw new VolumeError(`${where}.secret: secret "${secretName}" not found`);
    await writeKeys(dir, secret ? secretData(secret) : {}, items, defaultMode, `${where}.secret`, optional);
    return dir;
  }
  throw new VolumeError(`${where}: one of emptyDir, configMap, secret or hostPath is required`);
}

async function checkHostPath(path: string, type: string, where: string): Promise<string> {
  if (!path.startsWith("/")) throw new VolumeError(`${where}.path: "${path}" must be absolute`);
  const info = await stat(path).catch(() => undefined);
  const fail = (what: string) => new VolumeError(`${where}: ${path} ${what} (type ${type})`);
  switch (type) {
    case "":
      return path;
    case "DirectoryOrCreate":
      if (info === undefined) await mkdir(path, { recursive: true, mode: 0o755 });
      else if (!info.isDirectory()) throw fail("is not a directory");
      return path;
    case "Directory":
      if (!info?.isDirectory()) throw fail("is not a directory");
      return path;
    case "FileOrCreate":
      if (info === undefined) {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, "", { mode: 0o644 });
      } else if (!info.isFile()) throw fail("is not a file");
      return path;
    case "File":
      if (!info?.isFile()) throw fail("is not a file");
      return path;
    case "Socket":
      if (!info?.isSocket()) throw fail("is not a socket");
      return path;
    case "CharDevice":
      if (!info?.isCharacterDevice()) throw fail("is not a character device");
      return path;
    case "BlockDevice":
      if (!info?.isBlockDevice()) throw fail("is not a block device");
      return path;
    default:
      throw new VolumeError(`${where}.type: "${type}" is not a hostPath type`);
  }
}

/**
 * Writes `data` (or the selected `items`) as files into a fresh `..<random>` dir, points `..data`
 * at it by an atomic rename, and makes each top-level name a symlink through `..data`, so a reader
 * sees either the old set of files or the new one, never a mix.
 */
async function writeKeys(
  dir: string,
  data: Record<string, string>,
  items: KeyToPath[] | undefined,
  defaultMode: number | undefined,
  where: string,
  optional: boolean | undefined,
): Promise<void> {
  const files: { path: string; content: string; mode: number }[] = [];
  const mode = defaultMode ?? 0o644;
  if (items !== undefined) {
    for (const [i, item] of items.entries()) {
      const value = data[item.key ?? ""];
      if (value === undefined) {
        if (optional) continue;
        throw new VolumeError(`${where}.items[${i}].key: "${item.key}" is not in the object`);
      }
      files.push({
        path: safeRelative(item.path ?? "", `${where}.items[${i}].path`),
        content: value,
        mode: item.mode ?? mode,
      });
    }
  } else {
    for (const [key, content] of Object.entries(data))
      files.push({ path: safeRelative(key, `${where} key`), content, mode });
  }
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const fresh = `..${new Date().toISOString().replace(/[:.]/g, "_")}.${randomBytes(4).toString("hex")}`;
  for (const f of files) {
    const path = join(dir, fresh, f.path);
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFile(path, f.content, { mode: f.mode });
    await chmod(path, f.mode);
  }
  await mkdir(join(dir, fresh), { recursive: true, mode: 0o755 });
  const old = await readlink(join(dir, "..data")).catch(() => undefined);
  await symlink(fresh, join(dir, "..data_tmp"));
  await rename(join(dir, "..data_tmp"), join(dir, "..data"));
  const top = new Set(files.map((f) => f.path.split("/")[0]!));
  for (const name of top) {
    const link = join(dir, name);
    const existing = await lstat(link).catch(() => undefined);
    if (existing === undefined) await symlink(join("..data", name), link);
  }
  for (const entry of await readdir(dir)) {
    if (entry.startsWith("..") || top.has(entry)) continue;
    await rm(join(dir, entry), { force: true });
  }
  if (old !== undefined && old !== fresh) await rm(join(dir, old), { recursive: true, force: true });
}

/** Bind mounts for the container's `volumeMounts` (at field path `where`). */
export async function volumeMounts(
  c: Container,
  where: string,
  volumes: Map<string, string>,
): Promise<BindMount[]> {
  const mounts: BindMount[] = [];
  for (const [i, m] of (c.volumeMounts ?? []).entries()) {
    const at = `${where}.volumeMounts[${i}]`;
    const source = volumes.get(m.name ?? "");
    if (source === undefined) throw new VolumeError(`${at}.name: no volume "${m.name}" in spec.volumes`);
    if (!m.mountPath?.startsWith("/"))
      throw new VolumeError(`${at}.mountPath: "${m.mountPath}" must be absolute`);
    let path = source;
    if (m.subPath) {
      path = join(source, safeRelative(m.subPath, `${at}.subPath`));
      await mkdir(path, { recursive: true, mode: 0o755 }).catch(() => undefined);
    }
    mounts.push({ source: path, destination: m.mountPath, readOnly: m.readOnly === true });
  }
  return mounts;
}

/** Unmounts memory-backed emptyDirs and deletes the pod's volumes dir. Idempotent. */
export async function removeVolumes(podDir: string): Promise<void> {
  const dir = volumesDir(podDir);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    while ((await mountCount(path)) > 0) await run("umount", [path]);
  }
  await rm(dir, { recursive: true, force: true });
}

function safeName(name: string, where: string): string {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 63) {
    throw new VolumeError(`${where}: "${name}" is not a DNS label`);
  }
  return name;
}

function safeRelative(path: string, where: string): string {
  const n = normalize(path);
  if (path === "" || n.startsWith("/") || n === ".." || n.startsWith("../") || n.startsWith("..")) {
    throw new VolumeError(`${where}: "${path}" must be a relative path without ".." (nor start with "..")`);
  }
  return n;
}
