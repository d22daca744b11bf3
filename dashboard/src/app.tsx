/** The page: login, then the views under a navigation bar, routed by the URL's hash. */
import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiClient } from "./api";
import { logOut, storedToken } from "./session";
import { ApplyView } from "./views/apply-view";
import { ClusterMapView } from "./views/cluster-map-view";
import { EventsView } from "./views/events-view";
import { LoginView } from "./views/login-view";
import { PodView } from "./views/pod-view";
import { ServicesView } from "./views/services-view";
import { WorkloadsView } from "./views/workloads-view";

const views = [
  { hash: "#/map", label: "Cluster map" },
  { hash: "#/workloads", label: "Workloads" },
  { hash: "#/services", label: "Services" },
  { hash: "#/events", label: "Events" },
  { hash: "#/apply", label: "Apply" },
] as const;

function useHash(): string {
  const [hash, setHash] = useState(location.hash || "#/map");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/map");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function Route({ api, hash }: { api: ApiClient; hash: string }) {
  const pod = /^#\/pod\/([^/]+)\/([^/]+)$/.exec(hash);
  if (pod) return <PodView key={hash} api={api} namespace={pod[1]!} name={pod[2]!} />;
  switch (hash) {
    case "#/workloads":
      return <WorkloadsView api={api} />;
    case "#/services":
      return <ServicesView api={api} />;
    case "#/events":
      return <EventsView api={api} />;
    case "#/apply":
      return <ApplyView api={api} />;
    default:
      return <ClusterMapView api={api} />;
  }
}

export function App() {
  const initial = useMemo(() => {
    const token = storedToken();
    return token ? new ApiClient(token) : undefined;
  }, []);
  const [api, setApi] = useState<ApiClient | undefined>(initial);
  const hash = useHash();
  if (!api) return <LoginView onLogin={setApi} />;
  return (
    <>
      <nav aria-label="views">
        <span class="brand">kctl</span>
        <ul>
          {views.map((v) => (
            <li key={v.hash}>
              <a href={v.hash} aria-current={hash === v.hash ? "page" : undefined}>
                {v.label}
              </a>
            </li>
          ))}
        </ul>
        <button
          type="button"
          onClick={() => {
            logOut();
            setApi(undefined);
          }}
        >
          Log out
        </button>
      </nav>
      <Route api={api} hash={hash} />
    </>
  );
}
