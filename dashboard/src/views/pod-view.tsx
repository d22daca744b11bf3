/** One pod: conditions, container states and restarts, its events, and its log followed live. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { ApiClient } from "../api";
import { podTone } from "../cluster-map";
import type { KubeEvent, Pod } from "../kube-types";
import { useResource } from "../use-resource";
import { EventTable } from "./events-view";

/** Lines of log kept on the page; older ones are dropped as new ones arrive. */
const LOG_LINES = 500;

function LogTail({ api, pod, container }: { api: ApiClient; pod: Pod; container: string }) {
  const [follow, setFollow] = useState(true);
  const [text, setText] = useState("");
  const [error, setError] = useState<string | undefined>();
  const pre = useRef<HTMLPreElement>(null);
  const { namespace, name } = pod.metadata;
  useEffect(() => {
    const abort = new AbortController();
    setText("");
    setError(undefined);
    const path = `/api/v1/namespaces/${namespace}/pods/${name}/log?container=${encodeURIComponent(container)}&tailLines=100${follow ? "&follow=true" : ""}`;
    api
      .stream(
        path,
        (chunk) => setText((t) => (t + chunk).split("\n").slice(-LOG_LINES).join("\n")),
        abort.signal,
      )
      .catch(
        (err: unknown) => !abort.signal.aborted && setError(err instanceof Error ? err.message : String(err)),
      );
    return () => abort.abort();
  }, [api, namespace, name, container, follow]);
  useEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text, follow]);
  return (
    <section aria-labelledby="log-title">
      <h2 id="log-title">Log of {container}</h2>
      <label>
        <input
          type="checkbox"
          checked={follow}
          onChange={(e) => setFollow((e.target as HTMLInputElement).checked)}
        />{" "}
        Follow
      </label>
      {error && <p role="alert">{error}</p>}
      {/* A scrolling region must take focus, or keyboard users cannot scroll it (WCAG 2.1.1). */}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: see above */}
      <pre ref={pre} class="log" tabIndex={0} role="log" aria-label={`log of ${container}`}>
        {text}
      </pre>
    </section>
  );
}

export function PodView({ api, namespace, name }: { api: ApiClient; namespace: string; name: string }) {
  const pods = useResource<Pod>(
    api,
    `/api/v1/namespaces/${namespace}/pods`,
    `fieldSelector=metadata.name%3D${name}`,
  );
  const events = useResource<KubeEvent>(
    api,
    `/api/v1/namespaces/${namespace}/events`,
    `fieldSelector=involvedObject.name%3D${name}`,
  );
  const [container, setContainer] = useState<string | undefined>();
  const pod = pods.items[0];
  if (!pod) {
    return (
      <main>
        <h1>
          Pod {namespace}/{name}
        </h1>
        <p>{pods.synced ? "This pod does not exist (any more)." : "Loading…"}</p>
      </main>
    );
  }
  const shownContainer = container ?? pod.spec.containers[0]?.name;
  return (
    <main aria-labelledby="pod-title">
      <h1 id="pod-title">
        Pod {namespace}/{name} <span class={`pod ${podTone(pod)}`}>{podTone(pod)}</span>
      </h1>
      <p>
        Phase {pod.status?.phase ?? "?"} on {pod.spec.nodeName ?? "no host yet"}, IP{" "}
        {pod.status?.podIP ?? "none"}
      </p>
      <h2>Conditions</h2>
      <ul>
        {(pod.status?.conditions ?? []).map((c) => (
          <li key={c.type}>
            {c.type}: {c.status}
            {c.reason ? ` (${c.reason})` : ""}
          </li>
        ))}
      </ul>
      <h2>Containers</h2>
      <table class="wide">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Image</th>
            <th scope="col">State</th>
            <th scope="col">Ready</th>
            <th scope="col">Restarts</th>
          </tr>
        </thead>
        <tbody>
          {pod.spec.containers.map((c) => {
            const s = pod.status?.containerStatuses?.find((cs) => cs.name === c.name);
            const state = s?.state?.running
              ? "running"
              : s?.state?.waiting
                ? `waiting: ${s.state.waiting.reason ?? ""}`
                : s?.state?.terminated
                  ? `terminated: ${s.state.terminated.reason ?? ""} (exit ${s.state.terminated.exitCode})`
                  : "unknown";
            return (
              <tr key={c.name}>
                <th scope="row">
                  <button
                    type="button"
                    class="link"
                    aria-pressed={c.name === shownContainer}
                    onClick={() => setContainer(c.name)}
                  >
                    {c.name}
                  </button>
                </th>
                <td>{c.image}</td>
                <td>{state}</td>
                <td>{s?.ready ? "yes" : "no"}</td>
                <td>{s?.restartCount ?? 0}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h2>Events</h2>
      <EventTable events={events.items} />
      {shownContainer && <LogTail api={api} pod={pod} container={shownContainer} />}
    </main>
  );
}
