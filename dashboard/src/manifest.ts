/**
 * A pasted manifest as the apply view sends it: split into documents, each parsed enough to name
 * its object and find its resource path through discovery; the YAML text itself is what the server
 * receives (server-side apply), so the server's own decoding and validation judge it.
 */
import { parseAllDocuments } from "yaml";

export interface ManifestDocument {
  /** 1-based, as an editor counts them. */
  index: number;
  text: string;
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  /** Why the document cannot be sent at all (bad YAML, no kind or name). */
  error?: string;
}

export function splitManifest(text: string): ManifestDocument[] {
  const docs = parseAllDocuments(text);
  const out: ManifestDocument[] = [];
  for (const doc of docs) {
    const [start = 0, , end = text.length] = doc.range;
    const body = text.slice(start, end);
    const value = doc.errors.length === 0 ? (doc.toJS() as unknown) : undefined;
    if (value === null || value === undefined) {
      if (doc.errors.length === 0) continue; // an empty document between separators
    }
    const index = out.length + 1;
    if (doc.errors.length > 0) {
      out.push({ index, text: body, error: `document ${index}: YAML: ${doc.errors[0]!.message}` });
      continue;
    }
    const obj = value as {
      apiVersion?: unknown;
      kind?: unknown;
      metadata?: { name?: unknown; namespace?: unknown };
    };
    const missing = [
      typeof obj?.apiVersion !== "string" && "apiVersion",
      typeof obj?.kind !== "string" && "kind",
      typeof obj?.metadata?.name !== "string" && "metadata.name",
    ].filter(Boolean);
    out.push({
      index,
      text: body,
      ...(typeof obj?.apiVersion === "string" ? { apiVersion: obj.apiVersion } : {}),
      ...(typeof obj?.kind === "string" ? { kind: obj.kind } : {}),
      ...(typeof obj?.metadata?.name === "string" ? { name: obj.metadata.name } : {}),
      ...(typeof obj?.metadata?.namespace === "string" ? { namespace: obj.metadata.namespace } : {}),
      ...(missing.length > 0 ? { error: `document ${index}: ${missing.join(", ")} required` } : {}),
    });
  }
  return out;
}

export interface DiscoveredResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** The discovery path listing an apiVersion's resources: `/api/v1` or `/apis/GROUP/VERSION`. */
export function discoveryPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/**
 * The object's path for server-side apply, from its version's discovery list; a namespaced object
 * without a namespace goes to `default`, as kubectl's.
 */
export function objectPath(doc: ManifestDocument, resources: readonly DiscoveredResource[]): string {
  const resource = resources.find((r) => r.kind === doc.kind && !r.name.includes("/"));
  if (!resource) throw new Error(`document ${doc.index}: ${doc.apiVersion} serves no kind ${doc.kind}`);
  const ns = resource.namespaced ? `/namespaces/${encodeURIComponent(doc.namespace ?? "default")}` : "";
  return `${discoveryPath(doc.apiVersion!)}${ns}/${resource.name}/${encodeURIComponent(doc.name!)}`;
}
