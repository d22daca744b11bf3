/**
 * Client-side apply, like `kubectl apply`: for each manifest decide create, patch or nothing, check
 * every decision with a server-side dry run, and only when all of them pass write anything
 * (namespaces first, then ServiceAccounts). The manifest is kept in the last-applied annotation so
 * the next apply can compute a three-way merge patch (see apply-patch.ts). Errors are lines naming
 * file, document and field; after a failed check nothing has been written.
 */

import { decodeObject } from "../foundation/api/codec.js";
import { type ApiError, isApiError } from "../foundation/api/errors.js";
import { type KubeObject, maxObjectBytes } from "../foundation/api/object.js";
import { qualifiedKind, type ResourceInfo } from "../foundation/api/resources.js";
import { applyDefaults, validateObject } from "../foundation/kinds/index.js";
import { jsonEqual, lastAppliedAnnotation, threeWayMergePatch } from "./apply-patch.js";
import type { ApiClient } from "./client.js";
import { CliError } from "./errors.js";
import { location, type Manifest, type ManifestObject } from "./manifests.js";

export type ApplyAction = "create" | "patch" | "unchanged";

/** What apply prints for each action, like kubectl. */
export const appliedVerb: Record<ApplyAction, string> = {
  create: "created",
  patch: "configured",
  unchanged: "unchanged",
};

export interface PlannedObject {
  manifest: Manifest;
  /** Undefined for cluster-scoped kinds. */
  namespace: string | undefined;
  name: string;
  /** The manifest with its namespace filled in: what the last-applied annotation records. */
  applied: ManifestObject;
  /** `applied` plus the last-applied annotation: what is sent. */
  desired: ManifestObject;
  /** False when the object is too large to also carry its last-applied annotation. */
  recorded: boolean;
  action: ApplyAction;
  /** For "patch": the merge patch to send. */
  patch?: Record<string, unknown>;
  /**
   * The same object appeared earlier in the set (say two files that both define it): like kubectl it
   * is applied again in turn, so its action is decided anew when it is written.
   */
  repeat: boolean;
}

export interface ApplyOptions {
  /** `-n`: fills manifests without a namespace; a different manifest namespace is an error. */
  explicitNamespace: string | undefined;
  /** The namespace for manifests without one when `-n` is not given. */
  defaultNamespace: string;
}

/** Where an object is printed: `deployment.apps/web`. */
export function objectRef(p: PlannedObject): string {
  return `${qualifiedKind(p.manifest.info)}/${p.name}`;
}

/** The lines for a server error about one manifest, one per bad field when the server lists them. */
function apiErrorLines(m: Manifest, err: ApiError): string[] {
  const causes = err.details?.causes ?? [];
  if (causes.length > 0) return causes.map((c) => `${location(m, c.field)}: ${c.message}`);
  const field =
    err.reason === "NotFound" && isNamespaceKind(err.details?.kind)
      ? "metadata.namespace"
      : err.reason === "AlreadyExists"
        ? "metadata.name"
        : "";
  return [`${location(m, field)}: ${err.message}`];
}

function isNamespaceKind(kind: string | undefined): boolean {
  return kind === "namespaces" || kind === "Namespace" || kind === "namespace";
}

// Room left for what the server adds (uid, timestamps, defaults) when deciding whether the
// annotation still fits in an object.
const serverAdditionsBytes = 16 * 1024;

/**
 * The manifest without any last-applied annotation, and what is sent: the same with the annotation
 * set to that manifest, unless the annotation would push the object over the store's size limit
 * (it doubles the size). Then the object is sent without it, as `recorded: false` reports.
 */
function withLastApplied(obj: ManifestObject): {
  applied: ManifestObject;
  desired: ManifestObject;
  recorded: boolean;
} {
  const applied = structuredClone(obj);
  const annotations = { ...((applied.metadata.annotations as Record<string, string> | undefined) ?? {}) };
  delete annotations[lastAppliedAnnotation];
  if (Object.keys(annotations).length > 0) applied.metadata.annotations = annotations;
  else delete applied.metadata.annotations;
  const desired = structuredClone(applied);
  desired.metadata.annotations = { ...annotations, [lastAppliedAnnotation]: JSON.stringify(applied) };
  if (Buffer.byteLength(JSON.stringify(desired)) + serverAdditionsBytes > maxObjectBytes) {
    return { applied, desired: structuredClone(applied), recorded: false };
  }
  return { applied, desired, recorded: true };
}

function lastApplied(live: KubeObject): unknown {
  const text = live.metadata.annotations?.[lastAppliedAnnotation];
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Resolves namespaces and marks repeated objects without asking the server. Throws `CliError` with a
 * line per problem.
 */
export function resolveManifests(manifests: readonly Manifest[], opts: ApplyOptions): PlannedObject[] {
  const errors: string[] = [];
  const seen = new Set<string>();
  const planned: PlannedObject[] = [];
  for (const m of manifests) {
    const given = m.object.metadata.namespace;
    let namespace: string | undefined;
    if (m.info.namespaced) {
      if (given && opts.explicitNamespace && given !== opts.explicitNamespace) {
        errors.push(
          `${location(m, "metadata.namespace")}: the namespace from the provided object "${given}" does not match the namespace "${opts.explicitNamespace}" given with -n; pass -n ${given} or remove one of them`,
        );
        continue;
      }
      namespace = given || opts.explicitNamespace || opts.defaultNamespace;
    }
    const name = m.object.metadata.name;
    const key = `${m.info.group}/${m.info.plural}/${namespace ?? ""}/${name}`;
    const repeat = seen.has(key);
    seen.add(key);
    const obj: ManifestObject = structuredClone(m.object);
    if (namespace !== undefined) obj.metadata.namespace = namespace;
    planned.push({ manifest: m, namespace, name, ...withLastApplied(obj), action: "create", repeat });
  }
  if (errors.length > 0) throw new CliError(errors);
  // Namespaces first, so objects in a namespace created by the same apply can be written; then
  // ServiceAccounts, which a pod's admission looks up, so a pod can name an account the same apply
  // creates wherever the two stand in the files.
  const rank = (p: PlannedObject) =>
    p.manifest.info.kind === "Namespace" ? 0 : isServiceAccount(p.manifest.info) ? 1 : 2;
  return [0, 1, 2].flatMap((r) => planned.filter((p) => rank(p) === r));
}

function isServiceAccount(info: ResourceInfo): boolean {
  return info.group === "" && info.kind === "ServiceAccount";
}

/** The account a pod runs as, as the ServiceAccount admission reads it. */
function podServiceAccount(pod: ManifestObject): string {
  const spec = (pod.spec ?? {}) as { serviceAccountName?: string; serviceAccount?: string };
  return spec.serviceAccountName || spec.serviceAccount || "default";
}

/** Namespaces and ServiceAccounts (`namespace/name`) this apply creates, as planned so far. */
interface PendingCreates {
  namespaces: Set<string>;
  serviceAccounts: Set<string>;
}

/**
 * Whether a server-side dry run of `p` failed only for want of an object an earlier document of the
 * same apply creates, which the server cannot see before the write: its namespace, or for a pod the
 * ServiceAccount it runs as (its admission refuses a pod whose account does not exist).
 */
function waitsOnPendingCreate(err: unknown, p: PlannedObject, pending: PendingCreates): boolean {
  if (p.namespace === undefined) return false;
  if (isApiError(err, "NotFound")) {
    return (
      isNamespaceKind(err.details?.kind) &&
      err.details?.name === p.namespace &&
      pending.namespaces.has(p.namespace)
    );
  }
  const { info } = p.manifest;
  if (!isApiError(err, "Forbidden") || info.group !== "" || info.kind !== "Pod") return false;
  const account = podServiceAccount(p.desired);
  return (
    pending.serviceAccounts.has(`${p.namespace}/${account}`) &&
    err.message.includes(`serviceaccount "${account}" not found`)
  );
}

/**
 * Decides each object's action from the live state and, unless `dryRun` is "client", checks it with
 * a server-side dry run. Throws `CliError` with every failure; writes nothing.
 */
export async function planApply(
  client: ApiClient,
  planned: PlannedObject[],
  dryRun: "none" | "server" | "client",
): Promise<void> {
  const errors: string[] = [];
  const pending: PendingCreates = { namespaces: new Set(), serviceAccounts: new Set() };
  const earlier = new Map<string, PlannedObject>();
  for (const p of planned) {
    const { info } = p.manifest;
    const key = `${info.group}/${info.plural}/${p.namespace ?? ""}/${p.name}`;
    const before = earlier.get(key);
    earlier.set(key, p);
    // The server cannot see an earlier document of this same apply, so the rules for updating
    // that one into this one (immutable fields) are checked here.
    if (before) errors.push(...validateLocally(p, before));
    try {
      await decide(client, p);
      if (p.action === "create") {
        if (info.kind === "Namespace") pending.namespaces.add(p.name);
        else if (isServiceAccount(info)) pending.serviceAccounts.add(`${p.namespace}/${p.name}`);
      }
      if (dryRun === "client" || p.action === "unchanged") continue;
      try {
        if (p.action === "create") await client.create(info, p.namespace, p.desired, { dryRun: true });
        else await client.patch(info, p.namespace, p.name, p.patch!, { dryRun: true });
      } catch (err) {
        if (!waitsOnPendingCreate(err, p, pending)) throw err;
        // Check the object with the same decode, defaults and validation the apiserver runs.
        errors.push(...validateLocally(p));
      }
    } catch (err) {
      if (!isApiError(err)) throw err;
      errors.push(...apiErrorLines(p.manifest, err));
    }
  }
  if (errors.length > 0) throw new CliError(errors);
}

/** Sets `p.action` (and `p.patch`) from the live object. */
async function decide(client: ApiClient, p: PlannedObject): Promise<void> {
  const live = await getIfExists(client, p);
  if (!live) {
    p.action = "create";
    return;
  }
  const previous = lastApplied(live);
  if (previous !== undefined && jsonEqual(previous, p.applied)) {
    p.action = "unchanged";
    return;
  }
  p.patch = threeWayMergePatch(previous, p.desired, live);
  p.action = Object.keys(p.patch).length > 0 ? "patch" : "unchanged";
}

async function getIfExists(client: ApiClient, p: PlannedObject): Promise<KubeObject | undefined> {
  try {
    return await client.get(p.manifest.info, p.namespace, p.name);
  } catch (err) {
    if (isApiError(err, "NotFound")) return undefined;
    throw err;
  }
}

/**
 * Runs the apiserver's own decode, defaults and validation on `p` here, as an update of `before`
 * when given. Returns error lines.
 */
function validateLocally(p: PlannedObject, before?: PlannedObject): string[] {
  const prepare = (x: PlannedObject) =>
    applyDefaults(x.manifest.info, decodeObject(x.desired, x.manifest.info));
  try {
    const causes = validateObject(p.manifest.info, prepare(p), before ? prepare(before) : undefined);
    return causes.map((c) => `${location(p.manifest, c.field)}: ${c.message}`);
  } catch (err) {
    if (isApiError(err)) return before ? [] : apiErrorLines(p.manifest, err);
    throw err;
  }
}

/**
 * Writes the planned objects in order and reports each result through `report` (see `appliedVerb`)
 * or its error lines through `fail`. Returns whether all succeeded.
 */
export async function executeApply(
  client: ApiClient,
  planned: readonly PlannedObject[],
  report: (p: PlannedObject, verb: string) => void,
  fail: (lines: string[]) => void,
): Promise<boolean> {
  let ok = true;
  for (const p of planned) {
    const { info } = p.manifest;
    try {
      if (p.repeat) await decide(client, p);
      if (p.action === "create") await client.create(info, p.namespace, p.desired);
      else if (p.action === "patch") await client.patch(info, p.namespace, p.name, p.patch!);
      report(p, appliedVerb[p.action]);
    } catch (err) {
      if (!isApiError(err)) throw err;
      ok = false;
      fail(apiErrorLines(p.manifest, err));
    }
  }
  return ok;
}
