/**
 * Client-side apply, like `kubectl apply`: for each manifest decide create, patch or nothing, check
 * every decision with a server-side dry run, and only when all of them pass write anything
 * (namespaces first). The manifest is kept in the last-applied annotation so the next apply can
 * compute a three-way merge patch (see apply-patch.ts). Errors are lines naming file, document and
 * field; after a failed check nothing has been written.
 */

import { decodeObject } from "../controlplane/api/codec.js";
import { applyDefaults } from "../controlplane/api/defaults.js";
import { type ApiError, isApiError } from "../controlplane/api/errors.js";
import type { KubeObject } from "../controlplane/api/object.js";
import { qualifiedKind } from "../controlplane/api/resources.js";
import { validateObject } from "../controlplane/api/validation/index.js";
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
  action: ApplyAction;
  /** For "patch": the merge patch to send. */
  patch?: Record<string, unknown>;
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
export function apiErrorLines(m: Manifest, err: ApiError): string[] {
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

/** The manifest without any last-applied annotation, and the same with it set to that manifest. */
function withLastApplied(obj: ManifestObject): { applied: ManifestObject; desired: ManifestObject } {
  const applied = structuredClone(obj);
  const annotations = { ...((applied.metadata.annotations as Record<string, string> | undefined) ?? {}) };
  delete annotations[lastAppliedAnnotation];
  if (Object.keys(annotations).length > 0) applied.metadata.annotations = annotations;
  else delete applied.metadata.annotations;
  const desired = structuredClone(applied);
  desired.metadata.annotations = { ...annotations, [lastAppliedAnnotation]: JSON.stringify(applied) };
  return { applied, desired };
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
 * Resolves namespaces and duplicates without asking the server. Throws `CliError` with a line per
 * problem.
 */
export function resolveManifests(manifests: readonly Manifest[], opts: ApplyOptions): PlannedObject[] {
  const errors: string[] = [];
  const seen = new Map<string, Manifest>();
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
    const first = seen.get(key);
    if (first) {
      errors.push(
        `${location(m, "metadata.name")}: the same object (${qualifiedKind(m.info)}/${name}) is already in ${first.source} document ${first.document}`,
      );
      continue;
    }
    seen.set(key, m);
    const obj: ManifestObject = structuredClone(m.object);
    if (namespace !== undefined) obj.metadata.namespace = namespace;
    planned.push({ manifest: m, namespace, name, ...withLastApplied(obj), action: "create" });
  }
  if (errors.length > 0) throw new CliError(errors);
  // Namespaces first, so objects in a namespace created by the same apply can be written.
  return [
    ...planned.filter((p) => p.manifest.info.kind === "Namespace"),
    ...planned.filter((p) => p.manifest.info.kind !== "Namespace"),
  ];
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
  const creatingNamespaces = new Set<string>();
  for (const p of planned) {
    const { info } = p.manifest;
    try {
      const live = await getIfExists(client, p);
      if (!live) {
        p.action = "create";
      } else {
        const previous = lastApplied(live);
        if (previous !== undefined && jsonEqual(previous, p.applied)) {
          p.action = "unchanged";
        } else {
          p.action = "patch";
          p.patch = threeWayMergePatch(previous, p.desired, live);
        }
      }
      if (info.kind === "Namespace" && p.action === "create") creatingNamespaces.add(p.name);
      if (dryRun === "client" || p.action === "unchanged") continue;
      try {
        if (p.action === "create") await client.create(info, p.namespace, p.desired, { dryRun: true });
        else await client.patch(info, p.namespace, p.name, p.patch!, { dryRun: true });
      } catch (err) {
        const pendingNamespace =
          isApiError(err, "NotFound") &&
          isNamespaceKind(err.details?.kind) &&
          p.namespace !== undefined &&
          err.details?.name === p.namespace &&
          creatingNamespaces.has(p.namespace);
        if (!pendingNamespace) throw err;
        // The server cannot dry-run into a namespace that does not exist yet; check the object with
        // the same decode, defaults and validation the apiserver runs.
        errors.push(...validateLocally(p));
      }
    } catch (err) {
      if (!isApiError(err)) throw err;
      errors.push(...apiErrorLines(p.manifest, err));
    }
  }
  if (errors.length > 0) throw new CliError(errors);
}

async function getIfExists(client: ApiClient, p: PlannedObject): Promise<KubeObject | undefined> {
  try {
    return await client.get(p.manifest.info, p.namespace, p.name);
  } catch (err) {
    if (isApiError(err, "NotFound")) return undefined;
    throw err;
  }
}

function validateLocally(p: PlannedObject): string[] {
  try {
    const obj = decodeObject(p.desired, p.manifest.info);
    applyDefaults(p.manifest.info, obj);
    const causes = validateObject(p.manifest.info, obj);
    return causes.map((c) => `${location(p.manifest, c.field)}: ${c.message}`);
  } catch (err) {
    if (isApiError(err)) return apiErrorLines(p.manifest, err);
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
