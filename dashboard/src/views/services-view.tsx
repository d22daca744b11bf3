/** Each Service with its endpoints, ready and not, and the hosts serving them. */
import type { ApiClient } from "../api";
import type { EndpointAddress, Endpoints, Service } from "../kube-types";
import { keyOf } from "../resource-cache";
import { useResource } from "../use-resource";

function Address({ a, ready }: { a: EndpointAddress; ready: boolean }) {
  return (
    <li class={ready ? "endpoint ready" : "endpoint not-ready"}>
      {a.ip} {a.targetRef?.name ? `(${a.targetRef.name})` : ""} on {a.nodeName ?? "?"} ·{" "}
      {ready ? "ready" : "not ready"}
    </li>
  );
}

export function ServicesView({ api }: { api: ApiClient }) {
  const services = useResource<Service>(api, "/api/v1/services");
  const endpoints = useResource<Endpoints>(api, "/api/v1/endpoints");
  const byKey = new Map(endpoints.items.map((e) => [keyOf(e), e]));
  const sorted = [...services.items].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  return (
    <main aria-labelledby="services-title">
      <h1 id="services-title">Services</h1>
      {(services.error || endpoints.error) && <p role="alert">{services.error ?? endpoints.error}</p>}
      <table class="wide">
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Type</th>
            <th scope="col">Cluster IP</th>
            <th scope="col">Ports</th>
            <th scope="col">Endpoints</th>
            <th scope="col">Hosts</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((svc) => {
            const subsets = byKey.get(keyOf(svc))?.subsets ?? [];
            const ready = subsets.flatMap((s) => s.addresses ?? []);
            const notReady = subsets.flatMap((s) => s.notReadyAddresses ?? []);
            const hosts = [...new Set(ready.map((a) => a.nodeName ?? "?"))].sort();
            return (
              <tr key={keyOf(svc)} data-service={keyOf(svc)}>
                <th scope="row">{keyOf(svc)}</th>
                <td>{svc.spec.type ?? "ClusterIP"}</td>
                <td>{svc.spec.clusterIP ?? ""}</td>
                <td>{(svc.spec.ports ?? []).map((p) => `${p.port}/${p.protocol ?? "TCP"}`).join(", ")}</td>
                <td>
                  <span>
                    {ready.length} ready, {notReady.length} not ready
                  </span>
                  <ul>
                    {ready.map((a) => (
                      <Address key={a.ip} a={a} ready />
                    ))}
                    {notReady.map((a) => (
                      <Address key={a.ip} a={a} ready={false} />
                    ))}
                  </ul>
                </td>
                <td>{hosts.join(", ")}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </main>
  );
}
