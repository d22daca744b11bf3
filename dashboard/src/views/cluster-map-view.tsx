/** The cluster map: hosts as boxes with their pods inside, live. */
import { memo } from "preact/compat";
import type { ApiClient } from "../api";
import { type HostBox, hostBoxes, podTone, type Usage } from "../cluster-map";
import type { Node, Pod } from "../kube-types";
import { useNodeMetrics, useResource } from "../use-resource";

function Bar({ label, usage }: { label: string; usage: Usage | undefined }) {
  if (!usage) return null;
  const percent = Math.round(usage.fraction * 100);
  return (
    <div class="bar">
      <span>{label}</span>
      <meter min={0} max={100} value={percent} aria-label={`${label} ${percent}%`} />
      <span>{percent}%</span>
    </div>
  );
}

function PodChip({ pod }: { pod: Pod }) {
  const tone = podTone(pod);
  const name = `${pod.metadata.namespace}/${pod.metadata.name}`;
  return (
    <li>
      <a
        class={`pod ${tone}`}
        href={`#/pod/${pod.metadata.namespace}/${pod.metadata.name}`}
        title={`${name}: ${tone}`}
        data-pod={name}
        data-tone={tone}
      >
        {pod.metadata.name}
      </a>
    </li>
  );
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * What a host box shows, as one string: a box is redrawn only when it changes, since with
 * thousands of pods redrawing every box on each watch event costs more than a frame.
 */
function hostSignature(h: HostBox): string {
  const usage = `${h.cpu?.fraction.toFixed(2)}:${h.memory?.fraction.toFixed(2)}`;
  const pods = h.pods.map((p) => `${p.metadata.uid}@${p.metadata.resourceVersion}`).join(",");
  return `${h.listed}:${h.ready}:${h.unreachable}:${h.unschedulable}:${usage}:${pods}`;
}

const Host = memo(HostView, (a, b) => hostSignature(a.host) === hostSignature(b.host));

function HostView({ host }: { host: HostBox }) {
  const state = !host.listed
    ? "unknown"
    : host.unreachable
      ? "unreachable"
      : host.ready
        ? "ready"
        : "not-ready";
  const label = { unknown: "Unknown", unreachable: "Unreachable", ready: "Ready", "not-ready": "NotReady" }[
    state
  ];
  return (
    <section
      class={`host ${state}`}
      aria-label={`host ${host.name}`}
      data-host={host.name}
      data-state={state}
    >
      <header>
        <h2>{host.name}</h2>
        <span class={`badge ${state}`}>{label}</span>
        {host.unschedulable && <span class="badge cordoned">Cordoned</span>}
        <span class="count">{plural(host.pods.length, "pod")}</span>
      </header>
      <Bar label="CPU" usage={host.cpu} />
      <Bar label="Memory" usage={host.memory} />
      <ul class="pods">
        {host.pods.map((p) => (
          <PodChip key={p.metadata.uid ?? p.metadata.name} pod={p} />
        ))}
      </ul>
    </section>
  );
}

export function ClusterMapView({ api }: { api: ApiClient }) {
  const nodes = useResource<Node>(api, "/api/v1/nodes");
  const pods = useResource<Pod>(api, "/api/v1/pods");
  const metrics = useNodeMetrics(api);
  const { hosts, unplaced } = hostBoxes(nodes.items, pods.items, metrics);
  return (
    <main aria-labelledby="map-title">
      <h1 id="map-title">Cluster map</h1>
      <Legend />
      {(nodes.error || pods.error) && <p role="alert">{nodes.error ?? pods.error}</p>}
      {!nodes.synced && <p>Loading…</p>}
      <div class="hosts">
        {hosts.map((h) => (
          <Host key={h.name} host={h} />
        ))}
      </div>
      {unplaced.length > 0 && (
        <section class="host unplaced" aria-label="pods not on a host">
          <header>
            <h2>Not on a host</h2>
            <span class="count">{plural(unplaced.length, "pod")}</span>
          </header>
          <ul class="pods">
            {unplaced.map((p) => (
              <PodChip key={p.metadata.uid ?? p.metadata.name} pod={p} />
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}

function Legend() {
  return (
    <ul class="legend" aria-label="pod colours">
      {(["ready", "unready", "pending", "terminating", "failed", "succeeded"] as const).map((t) => (
        <li key={t}>
          <span class={`pod ${t}`}>{t}</span>
        </li>
      ))}
    </ul>
  );
}
