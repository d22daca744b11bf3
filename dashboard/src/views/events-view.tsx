/** The events of the whole cluster as they arrive, newest first, filtered by type and text. */
import { useState } from "preact/hooks";
import type { ApiClient } from "../api";
import type { KubeEvent } from "../kube-types";
import { useResource } from "../use-resource";

const SHOWN = 300;

export function eventTime(e: KubeEvent): string {
  return e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? "";
}

export function EventTable({ events }: { events: readonly KubeEvent[] }) {
  const sorted = [...events].sort((a, b) => eventTime(b).localeCompare(eventTime(a))).slice(0, SHOWN);
  return (
    <table class="wide events">
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Type</th>
          <th scope="col">Reason</th>
          <th scope="col">Object</th>
          <th scope="col">Message</th>
        </tr>
      </thead>
      <tbody>
        {sorted.map((e) => (
          <tr key={e.metadata.uid ?? e.metadata.name} class={e.type === "Warning" ? "warning" : ""}>
            <td>{eventTime(e).replace("T", " ").replace("Z", "")}</td>
            <td>{e.type}</td>
            <td>{e.reason}</td>
            <td>
              {e.involvedObject.kind}/{e.involvedObject.name}
            </td>
            <td>
              {e.message}
              {(e.count ?? 1) > 1 ? ` (×${e.count})` : ""}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function EventsView({ api }: { api: ApiClient }) {
  const events = useResource<KubeEvent>(api, "/api/v1/events");
  const [text, setText] = useState("");
  const [type, setType] = useState("");
  const needle = text.toLowerCase();
  const shown = events.items.filter(
    (e) =>
      (!type || e.type === type) &&
      (!needle ||
        [e.reason, e.message, e.involvedObject.kind, e.involvedObject.name, e.metadata.namespace]
          .join(" ")
          .toLowerCase()
          .includes(needle)),
  );
  return (
    <main aria-labelledby="events-title">
      <h1 id="events-title">Events</h1>
      <div class="filters">
        <label>
          Filter{" "}
          <input type="search" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Type{" "}
          <select value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
            <option value="">All</option>
            <option value="Normal">Normal</option>
            <option value="Warning">Warning</option>
          </select>
        </label>
        <span>
          {shown.length} of {events.items.length}
        </span>
      </div>
      {events.error && <p role="alert">{events.error}</p>}
      <EventTable events={shown} />
    </main>
  );
}
