/**
 * Reading manifests for `apply -f` and `delete -f`: files, directories (recursively, `.yaml`,
 * `.yml`, `.json`, in sorted order) and stdin; YAML in block or flow style, multi-document, JSON;
 * `kind: List` expanded into its items. Owns the error location format every apply error uses:
 * `<file>: document <n>: <field path>: <message>`, with documents counted from 1 in file order.
 * Checks only what the client needs (apiVersion, kind known to the API, a name); the server's dry
 * run validates the rest.
 */

import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { type Document, isCollection, LineCounter, parseAllDocuments, visit } from "yaml";
import { type ResourceInfo, resourceForKind, resources } from "../foundation/api/resources.js";
import { CliError } from "./errors.js";

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [field: string]: unknown;
}

export interface Manifest {
  /** The file as the user named it (or `<stdin>`). */
  source: string;
  /** 1-based position of the YAML document in its file. */
  document: number;
  /** `items[3]` for an object from a `kind: List`, else "". */
  itemPath: string;
  object: ManifestObject;
  info: ResourceInfo;
}

const stdinSource = "<stdin>";

/** `web.yaml: document 2: spec.replicas` — the place an error is about. */
export function location(m: Pick<Manifest, "source" | "document" | "itemPath">, field = ""): string {
  const path = [m.itemPath, field].filter(Boolean).join(field.startsWith("[") ? "" : ".");
  return `${m.source}: document ${m.document}${path ? `: ${path}` : ""}`;
}

const manifestExt = /\.(ya?ml|json)$/i;

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (manifestExt.test(entry.name)) out.push(path);
  }
  return out.sort();
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Reads every source in order. Returns the manifests, or throws one `CliError` with a line per
 * problem in any file, so a caller never acts on a partly readable set.
 */
export async function loadManifests(
  sources: readonly string[],
  io: { cwd: string; stdin: NodeJS.ReadableStream },
): Promise<Manifest[]> {
  const texts: { source: string; text: string }[] = [];
  const errors: string[] = [];
  for (const source of sources) {
    if (source === "-") {
      texts.push({ source: stdinSource, text: await readStdin(io.stdin) });
      continue;
    }
    const abs = resolve(io.cwd, source);
    const info = await stat(abs).catch(() => undefined);
    if (!info) {
      errors.push(`the path "${source}" does not exist`);
      continue;
    }
    const files = info.isDirectory() ? await listFiles(abs) : [abs];
    if (info.isDirectory() && files.length === 0) {
      errors.push(`${source}: the directory holds no .yaml, .yml or .json files`);
    }
    for (const file of files) {
      const shown = info.isDirectory() ? join(source, relative(abs, file)) : source;
      try {
        texts.push({ source: shown, text: await readFile(file, "utf8") });
      } catch (err) {
        errors.push(`${shown}: cannot read: ${(err as Error).message}`);
      }
    }
  }
  const manifests: Manifest[] = [];
  for (const { source, text } of texts) {
    const parsed = parseManifests(text, source);
    manifests.push(...parsed.manifests);
    errors.push(...parsed.errors);
  }
  if (errors.length > 0) throw new CliError(errors);
  if (manifests.length === 0) throw new CliError(`no objects found in ${sources.join(", ")}`);
  return manifests;
}

/** Parses one file's text into manifests and error lines (without the `error: ` prefix). */
export function parseManifests(text: string, source: string): { manifests: Manifest[]; errors: string[] } {
  const manifests: Manifest[] = [];
  const errors: string[] = [];
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, merge: true, logLevel: "error" });
  (Array.isArray(docs) ? docs : [docs]).forEach((doc, i) => {
    const at = { source, document: i + 1, itemPath: "" };
    if (doc.errors.length > 0) {
      const err = doc.errors[0]!;
      const pos = lineCounter.linePos(err.pos[0]);
      errors.push(`${location(at)}: line ${pos.line}, column ${pos.col}: ${err.message}`);
      return;
    }
    const badKey = collectionKeyOffset(doc);
    if (badKey !== undefined) {
      const pos = lineCounter.linePos(badKey);
      errors.push(
        `${location(at)}: line ${pos.line}, column ${pos.col}: a mapping key must be a plain value, not a list or mapping (is a comma or brace misplaced?)`,
      );
      return;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    if (isMapping(value) && value.kind === "List" && (value.apiVersion ?? "v1") === "v1") {
      if (!Array.isArray(value.items)) {
        errors.push(`${location(at, "items")}: a List needs an items array`);
        return;
      }
      value.items.forEach((item, j) => {
        const itemAt = { ...at, itemPath: `items[${j}]` };
        collect(checkObject(item, itemAt), manifests, errors);
      });
      return;
    }
    collect(checkObject(value, at), manifests, errors);
  });
  return { manifests, errors };
}

/** Where the first key that is itself a list or mapping starts; JSON has no such keys. */
function collectionKeyOffset(doc: Document.Parsed): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (isCollection(pair.key)) {
        offset = pair.key.range?.[0] ?? 0;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return offset;
}

function collect(result: Manifest | string, manifests: Manifest[], errors: string[]): void {
  if (typeof result === "string") errors.push(result);
  else manifests.push(result);
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describeType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return `a ${typeof v}`;
}

const supportedKinds = () =>
  resources.map((r) => `${r.group ? `${r.group}/` : ""}${r.version} ${r.kind}`).join(", ");

function checkObject(value: unknown, at: Omit<Manifest, "object" | "info">): Manifest | string {
  if (!isMapping(value)) {
    return `${location(at)}: expected a mapping with apiVersion, kind and metadata, got ${describeType(value)}`;
  }
  const { apiVersion, kind, metadata } = value;
  if (apiVersion === undefined || apiVersion === "")
    return `${location(at, "apiVersion")}: Required value: every object needs apiVersion and kind`;
  if (typeof apiVersion !== "string")
    return `${location(at, "apiVersion")}: must be a string, got ${describeType(apiVersion)}`;
  if (kind === undefined || kind === "")
    return `${location(at, "kind")}: Required value: every object needs apiVersion and kind`;
  if (typeof kind !== "string") return `${location(at, "kind")}: must be a string, got ${describeType(kind)}`;
  const info = resourceForKind(apiVersion, kind);
  if (!info) {
    return `${location(at, "kind")}: no matches for kind "${kind}" in version "${apiVersion}" (this API serves ${supportedKinds()})`;
  }
  if (!isMapping(metadata)) {
    return `${location(at, "metadata")}: Required value: a mapping with at least a name`;
  }
  if (typeof metadata.name !== "string" || metadata.name === "") {
    return `${location(at, "metadata.name")}: Required value: apply and delete need a name (generateName is not supported here)`;
  }
  if (metadata.namespace !== undefined && typeof metadata.namespace !== "string") {
    return `${location(at, "metadata.namespace")}: must be a string, got ${describeType(metadata.namespace)}`;
  }
  return { ...at, object: value as ManifestObject, info };
}
