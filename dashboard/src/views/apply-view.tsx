/**
 * Paste or drop YAML; a dry run shows, per document, what the server would do or which field it
 * refuses; then apply. Both are server-side apply as this user, so validation and RBAC are the
 * server's.
 */
import { useState } from "preact/hooks";
import type { ApiClient } from "../api";
import {
  type DiscoveredResource,
  discoveryPath,
  type ManifestDocument,
  objectPath,
  splitManifest,
} from "../manifest";

interface Outcome {
  doc: ManifestDocument;
  ok: boolean;
  text: string;
}

async function send(api: ApiClient, docs: ManifestDocument[], dryRun: boolean): Promise<Outcome[]> {
  const discovery = new Map<string, Promise<DiscoveredResource[]>>();
  const resourcesOf = (apiVersion: string) => {
    let found = discovery.get(apiVersion);
    if (!found) {
      found = api
        .get<{ resources: DiscoveredResource[] }>(discoveryPath(apiVersion))
        .then((l) => l.resources);
      discovery.set(apiVersion, found);
    }
    return found;
  };
  const out: Outcome[] = [];
  // In order, as kubectl apply: a Namespace first lets the documents after it land in it.
  for (const doc of docs) {
    const what = `${doc.kind ?? "?"} ${doc.namespace ? `${doc.namespace}/` : ""}${doc.name ?? "?"}`;
    if (doc.error) {
      out.push({ doc, ok: false, text: doc.error });
      continue;
    }
    try {
      const path = objectPath(doc, await resourcesOf(doc.apiVersion!));
      const query = `fieldManager=kctl-dashboard${dryRun ? "&dryRun=All" : ""}`;
      await api.send("PATCH", `${path}?${query}`, doc.text, "application/apply-patch+yaml");
      out.push({ doc, ok: true, text: `${what}: ${dryRun ? "valid (dry run)" : "applied"}` });
    } catch (err) {
      out.push({ doc, ok: false, text: `${what}: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  return out;
}

export function ApplyView({ api }: { api: ApiClient }) {
  const [text, setText] = useState("");
  const [outcomes, setOutcomes] = useState<Outcome[]>([]);
  const [checked, setChecked] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const run = async (dryRun: boolean) => {
    setBusy(true);
    const results = await send(api, splitManifest(text), dryRun);
    setOutcomes(results);
    setChecked(dryRun && results.length > 0 && results.every((r) => r.ok) ? text : undefined);
    setBusy(false);
  };
  const drop = async (e: DragEvent) => {
    e.preventDefault();
    const file = e.dataTransfer?.files[0];
    if (file) setText(await file.text());
  };
  return (
    <main aria-labelledby="apply-title">
      <h1 id="apply-title">Apply</h1>
      <label for="manifest">Manifest (YAML; paste, or drop a file here)</label>
      <textarea
        id="manifest"
        class="manifest"
        rows={18}
        spellcheck={false}
        value={text}
        onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        onDragOver={(e) => e.preventDefault()}
        onDrop={(e) => void drop(e)}
      />
      <div class="actions">
        <button type="button" disabled={busy || text.trim() === ""} onClick={() => void run(true)}>
          Dry run
        </button>
        <button
          type="button"
          class="primary"
          disabled={busy || checked !== text}
          title="Apply is enabled once a dry run of this text passed"
          onClick={() => void run(false)}
        >
          Apply
        </button>
      </div>
      <ul class="outcomes" aria-label="result per document">
        {outcomes.map((o) => (
          <li key={o.doc.index} class={o.ok ? "outcome ok" : "outcome refused"} data-document={o.doc.index}>
            {o.text}
          </li>
        ))}
      </ul>
    </main>
  );
}
