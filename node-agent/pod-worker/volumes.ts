/**
 * A pod's volumes on the host, under `<podDir>/volumes/<name>`: emptyDir (a directory, or a tmpfs
 * limited to sizeLimit with `medium: Memory`), configMap, secret and projected (their files written
 * by the atomic writer, with `items` and modes honoured, always mounted read-only as the kubelet
 * does; projected adds downwardAPI metadata and the pod's ServiceAccount token),
 * hostPath (the host path itself), persistentVolumeClaim (the directory of its bound volume on this
 * node, from `ObjectLookup.claimDirectory`). Containers get them as bind mounts.
 *
 * A subPath is never joined onto the volume's host path: the pod controls what is inside its
 * volumes, so `subPath: x` where the pod made `x -> /` would name the host's root (CVE-2017-1002101).
 * Each subPath is resolved inside its volume by the native `mount-beneath` helper and mounted from
 * the object it resolved, at `<podDir>/volume-subpaths/<attempt>/<index>`, which the runtime then
 * binds into the container; `releaseContainerMounts` takes those down when the attempt goes.
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, readFile, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { quantityValue } from "../../foundation/api/quantity.js";
import type { KeyToPath, Pod, Volume, VolumeMount, VolumeProjection } from "../../proto/gen/api.js";
import type { BindMount } from "../runtime/oci/container-config.js";
import { nativeBuildPath } from "../util/native-build.js";
import { type Payload, type PayloadFile, PayloadPathError, writeAtomic } from "./atomic-writer.js";
import { applyFsGroup } from "./fs-group.js";
import type { ObjectLookup } from "./object-lookup.js";

const run = promisify(execFile);

export class VolumeError extends Error {
  constructor(volume: string, why: string) {
    super(`volume "${volume}": ${why}`);
    this.name = "VolumeError";
  }
}

/** A volume as the host has it. `readOnly` volumes are mounted read-only whatever the mount asks. */
export interface HostVolume {
  path: string;
  readOnly: boolean;
}

export type VolumePaths = ReadonlyMap<string, HostVolume>;

/** The native helper that resolves a subPath inside its volume and mounts what it found. */
const mountBeneath = nativeBuildPath("mount-beneath");

function payloadOf(
  values: Record<string, Uint8Array>,
  items: KeyToPath[] | undefined,
  mode: number,
  volume: string,
): Payload {
  const out = new Map<string, PayloadFile>();
  if (!items?.length) {
    for (const [k, v] of Object.entries(values)) out.set(k, { data: v, mode });
    return out;
  }
  for (const item of items) {
    const data = item.key ? values[item.key] : undefined;
    if (!data) throw new VolumeError(volume, `key "${item.key}" not found`);
    out.set(item.path ?? item.key!, { data, mode: item.mode ?? mode });
  }
  return out;
}

/** A ConfigMap's data or a Secret's decoded data as bytes (secrets may be binary), or undefined. */
async function sourceValues(
  lookup: ObjectLookup,
  kind: "ConfigMap" | "Secret",
  namespace: string,
  name: string,
): Promise<Record<string, Uint8Array> | undefined> {
  if (kind === "ConfigMap") {
    const cm = await lookup.configMap(namespace, name);
    return cm && Object.fromEntries(Object.entries(cm.data ?? {}).map(([k, v]) => [k, Buffer.from(v)]));
  }
  const secret = await lookup.secret(namespace, name);
  return (
    secret &&
    Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")]))
  );
}

async function mountedUnder(dir: string): Promise<string[]> {
  const mounts = await readFile("/proc/self/mounts", "utf8");
  return mounts
    .split("\n")
    .map((l) => l.split(" ")[1] ?? "")
    .filter((target) => target === dir || target.startsWith(`${dir}/`));
}

/** A downwardAPI file's content, as the kubelet writes it (maps as sorted `key="value"` lines). */
function downwardValue(pod: Pod, fieldPath: string): string {
  const meta = pod.metadata;
  const lines = (m: Record<string, string> | undefined) =>
    Object.keys(m ?? {})
      .sort()
      .map((k) => `${k}=${JSON.stringify(m![k])}`)
      .join("\n");
  const one = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
  if (one) return (one[1] === "labels" ? meta.labels : meta.annotations)?.[one[2]!] ?? "";
  switch (fieldPath) {
    case "metadata.name":
      return meta.name ?? "";
    case "metadata.namespace":
      return meta.namespace ?? "default";
    case "metadata.uid":
      return meta.uid ?? "";
    case "metadata.labels":
      return lines(meta.labels);
    case "metadata.annotations":
      return lines(meta.annotations);
  }
  throw new Error(`unsupported fieldPath ${fieldPath}`);
}

/**
 * A projected volume's files: each source's, into one payload (validation keeps paths apart). The
 * sources are fetched at once: the token and the CA ConfigMap of every pod's API access volume are
 * two round trips to the control plane on its start, and neither waits for the other.
 */
async function projectedPayload(v: Volume, pod: Pod, lookup: ObjectLookup): Promise<Payload> {
  const name = v.name ?? "";
  const ns = pod.metadata.namespace ?? "default";
  const mode = v.projected?.defaultMode ?? 0o644;
  const sourceFiles = async (src: VolumeProjection): Promise<[string, PayloadFile][]> => {
    const files: [string, PayloadFile][] = [];
    const ref = src.configMap ?? src.secret;
    if (ref) {
      const kind = src.configMap ? "ConfigMap" : "Secret";
      const values = await sourceValues(lookup, kind, ns, ref.name ?? "");
      if (!values && !ref.optional)
        throw new VolumeError(name, `${kind.toLowerCase()} "${ref.name}" not found`);
      files.push(...payloadOf(values ?? {}, ref.items, mode, name));
    }
    for (const item of src.downwardAPI?.items ?? []) {
      const data = Buffer.from(downwardValue(pod, item.fieldRef?.fieldPath ?? ""));
      files.push([item.path ?? "", { data, mode: item.mode ?? mode }]);
    }
    const token = src.serviceAccountToken;
    if (token) {
      if (!lookup.serviceAccountToken)
        throw new VolumeError(name, "this node cannot get ServiceAccount tokens");
      const value = await lookup.serviceAccountToken({
        namespace: ns,
        pod: pod.metadata.name ?? "",
        podUid: pod.metadata.uid ?? "",
        audience: token.audience ?? "",
        expirationSeconds: token.expirationSeconds ?? 3600,
      });
      files.push([token.path ?? "token", { data: Buffer.from(value), mode }]);
    }
    return files;
  };
  const sources = await Promise.all((v.projected?.sources ?? []).map(sourceFiles));
  return new Map(sources.flat());
}

/**
 * Makes (or refreshes) every volume of the pod and returns each by name. Running it again rewrites
 * configMap and secret volumes only where their content changed.
 */
export async function prepareVolumes(
  pod: Pod,
  podDir: string,
  lookup: ObjectLookup,
): Promise<Map<string, HostVolume>> {
  const fsGroup = pod.spec?.securityContext?.fsGroup;
  const volumes = new Map<string, HostVolume>();
  for (const v of pod.spec?.volumes ?? []) {
    const name = v.name ?? "";
    if (v.persistentVolumeClaim) {
      volumes.set(name, await claimVolume(pod, v, lookup));
      continue;
    }
    volumes.set(name, await prepareVolume(v, join(podDir, "volumes", name), pod, lookup, fsGroup));
  }
  return volumes;
}

/** A claim's volume: its directory on this node, read-only when the pod's volume says so. */
async function claimVolume(pod: Pod, v: Volume, lookup: ObjectLookup): Promise<HostVolume> {
  const name = v.name ?? "";
  if (!lookup.claimDirectory)
    throw new VolumeError(name, "this node does not serve persistent volume claims");
  try {
    const path = await lookup.claimDirectory(pod, v.persistentVolumeClaim?.claimName ?? "");
    return { path, readOnly: v.persistentVolumeClaim?.readOnly ?? false };
  } catch (err) {
    throw new VolumeError(name, (err as Error).message);
  }
}

async function prepareVolume(
  v: Volume,
  dir: string,
  pod: Pod,
  lookup: ObjectLookup,
  fsGroup: number | undefined,
): Promise<HostVolume> {
  const name = v.name ?? "";
  const ns = pod.metadata.namespace ?? "default";
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
    return { path, readOnly: false };
  }
  if (v.emptyDir) {
    await mkdir(dirname(dir), { recursive: true });
    const created = await mkdir(dir).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === "EEXIST") return false;
        throw err;
      },
    );
    if (!created) return { path: dir, readOnly: false };
    // Writable by every user, as the kubelet makes it: containers may run as any uid.
    await chmod(dir, 0o777);
    if (v.emptyDir.medium === "Memory") {
      const size = v.emptyDir.sizeLimit ? `,size=${Math.ceil(quantityValue(v.emptyDir.sizeLimit))}` : "";
      await run("mount", ["-t", "tmpfs", "-o", `mode=0777${size}`, "tmpfs", dir]);
    }
    // Only while it is new: once a container can write in it, a walk by path could be redirected.
    if (fsGroup !== undefined) await applyVolumeFsGroup(name, dir, fsGroup, false);
    return { path: dir, readOnly: false };
  }
  if (v.configMap || v.secret || v.projected) {
    let payload: Payload;
    if (v.projected) payload = await projectedPayload(v, pod, lookup);
    else {
      const kind = v.configMap ? "ConfigMap" : "Secret";
      const src = v.configMap ?? v.secret!;
      const objName = v.configMap?.name ?? v.secret?.secretName ?? "";
      const values = await sourceValues(lookup, kind, ns, objName);
      if (!values && !src.optional)
        throw new VolumeError(name, `${kind.toLowerCase()} "${objName}" not found`);
      payload = payloadOf(values ?? {}, src.items, src.defaultMode ?? 0o644, name);
    }
    let written: boolean;
    try {
      written = await writeAtomic(dir, payload);
    } catch (err) {
      if (err instanceof PayloadPathError) throw new VolumeError(name, err.message);
      throw err;
    }
    // Only the agent writes here (containers get it read-only), so every new version can be owned.
    if (written && fsGroup !== undefined) await applyVolumeFsGroup(name, dir, fsGroup, true);
    return { path: dir, readOnly: true };
  }
  throw new VolumeError(name, "no supported source (emptyDir, configMap, secret, projected, hostPath)");
}

async function applyVolumeFsGroup(volume: string, dir: string, fsGroup: number, readOnly: boolean) {
  try {
    await applyFsGroup(dir, fsGroup, { readOnly });
  } catch (err) {
    throw new VolumeError(volume, `setting fsGroup ${fsGroup}: ${(err as Error).message}`);
  }
}

/**
 * The bind mounts of one container attempt: each volumeMount at its mountPath, a subPath mounted
 * first at `<podDir>/volume-subpaths/<attemptId>/<index>` from what it resolves to inside its volume.
 */
export async function prepareContainerMounts(
  podDir: string,
  attemptId: string,
  mounts: readonly VolumeMount[],
  volumes: VolumePaths,
): Promise<BindMount[]> {
  const out: BindMount[] = [];
  const subpaths = join(podDir, "volume-subpaths", attemptId);
  for (const [index, m] of mounts.entries()) {
    const volume = volumes.get(m.name ?? "");
    if (!volume)
      throw new VolumeError(m.name ?? "", `mounted at ${m.mountPath} but not defined in spec.volumes`);
    let source = volume.path;
    if (m.subPath) {
      await mkdir(subpaths, { recursive: true });
      source = join(subpaths, String(index));
      await releaseMountsUnder(source);
      try {
        await run(mountBeneath, [volume.path, m.subPath, source]);
      } catch (err) {
        const stderr = String((err as { stderr?: unknown }).stderr ?? "").trim();
        throw new VolumeError(m.name ?? "", stderr.replace(/^mount-beneath: /, "") || String(err));
      }
    }
    out.push({
      source,
      destination: m.mountPath ?? "/",
      ...(m.readOnly || volume.readOnly ? { readOnly: true } : {}),
    });
  }
  return out;
}

/**
 * Unmounts everything under `dir`, then removes it. Refuses to remove anything while a mount is
 * still there: a recursive remove would walk into the volume (or a hostPath) behind it.
 */
async function releaseMountsUnder(dir: string): Promise<void> {
  for (const target of (await mountedUnder(dir)).reverse())
    await run("umount", ["-l", target]).catch(() => undefined);
  const left = await mountedUnder(dir);
  if (left.length) throw new Error(`cannot remove ${dir}: still mounted: ${left.join(", ")}`);
  await rm(dir, { recursive: true, force: true });
}

/** Takes down the subPath mounts of one container attempt. Idempotent. */
export async function releaseContainerMounts(podDir: string, attemptId: string): Promise<void> {
  await releaseMountsUnder(join(podDir, "volume-subpaths", attemptId));
}

/** Unmounts tmpfs volumes and subPath mounts and removes the pod's volume directories. Idempotent. */
export async function releaseVolumes(podDir: string): Promise<void> {
  await releaseMountsUnder(join(podDir, "volume-subpaths"));
  await releaseMountsUnder(join(podDir, "volumes"));
}
