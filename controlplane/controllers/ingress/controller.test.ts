import { describe, expect, it } from "vitest";
import type { ConfigMap, Ingress, IngressClass, Secret, Service } from "../../../proto/gen/api.js";
import { FakeCluster } from "../testing/fake-cluster.js";
import {
  configMapsResource,
  IngressController,
  ingressClassesResource,
  ingressesResource,
  secretsResource,
  servicesResource,
  syncKey,
} from "./controller.js";

const ns = "ingress-haproxy";

const cls = (name: string, controller: string, isDefault = false): IngressClass => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "IngressClass",
  metadata: {
    name,
    ...(isDefault ? { annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } } : {}),
  },
  spec: { controller },
});
const lbService = (ip?: string): Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "haproxy", namespace: ns },
  spec: { type: "LoadBalancer", clusterIP: "10.96.0.80", ports: [{ port: 80 }] },
  ...(ip ? { status: { loadBalancer: { ingress: [{ ip }] } } } : {}),
});
const web: Service = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web", namespace: "shop" },
  spec: { clusterIP: "10.96.0.10", ports: [{ port: 80 }] },
};
const ingress = (name: string, className?: string, backend = "web"): Ingress => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name, namespace: "shop" },
  spec: {
    ...(className ? { ingressClassName: className } : {}),
    rules: [
      {
        host: `${name}.example`,
        http: {
          paths: [
            { path: "/", pathType: "Prefix", backend: { service: { name: backend, port: { number: 80 } } } },
          ],
        },
      },
    ],
  },
});

function setup(installed = true) {
  const cluster = new FakeCluster({ autoFlush: true });
  if (installed) cluster.seed(servicesResource, lbService());
  cluster.seed(servicesResource, web);
  const controller = new IngressController({
    ingresses: cluster.lister(ingressesResource),
    ingressClasses: cluster.lister(ingressClassesResource),
    services: cluster.lister(servicesResource),
    secrets: cluster.lister(secretsResource),
    configMaps: cluster.lister(configMapsResource),
    client: cluster.client,
    recorder: cluster.recorder,
    queue: { add: () => {} },
  });
  const actions = () => cluster.takeActions().map((a) => `${a.verb} ${a.resource} ${a.name}`);
  const rendered = () => cluster.stored<ConfigMap>(configMapsResource, syncKey)?.data?.["haproxy.cfg"] ?? "";
  const status = (name: string) =>
    cluster.stored<Ingress>(ingressesResource, `shop/${name}`)?.status?.loadBalancer?.ingress;
  return { cluster, controller, actions, rendered, status };
}

describe("ingress controller sync", () => {
  it("renders only the Ingresses of its class (by name, legacy annotation or default class) and publishes the LB address", async () => {
    const { cluster, controller, actions, rendered, status } = setup();
    cluster.seed(
      ingressClassesResource,
      cls("haproxy", "kctl.local/haproxy-ingress", true),
      cls("nginx", "k8s.io/ingress-nginx"),
    );
    const legacy = ingress("legacy");
    legacy.metadata.annotations = { "kubernetes.io/ingress.class": "haproxy" };
    cluster.seed(
      ingressesResource,
      ingress("named", "haproxy"),
      ingress("other", "nginx"),
      ingress("unclassed"),
      legacy,
    );
    cluster.seed(servicesResource, lbService("192.0.2.10"));
    cluster.seed(configMapsResource, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "haproxy-config", namespace: ns },
      data: { "haproxy.cfg": "stale", "other.cfg": "dropped" },
    } as ConfigMap);
    await controller.sync(syncKey);
    expect(cluster.stored<ConfigMap>(configMapsResource, syncKey)?.data).toEqual({
      "haproxy.cfg": rendered(),
    });
    expect(rendered()).toContain("named.example");
    expect(rendered()).toContain("unclassed.example");
    expect(rendered()).toContain("legacy.example");
    expect(rendered()).not.toContain("other.example");
    expect(status("named")).toEqual([{ ip: "192.0.2.10" }]);
    expect(status("other")).toBeUndefined();
    expect(actions()).toEqual([
      "update configmaps haproxy-config",
      "create secrets haproxy-certs",
      "updateStatus ingresses named",
      "updateStatus ingresses unclassed",
      "updateStatus ingresses legacy",
    ]);
    // Level-triggered: a second sync finds nothing to do.
    await controller.sync(syncKey);
    expect(actions()).toEqual([]);
  });

  it("without a default class, an Ingress naming no class is not served", async () => {
    const { cluster, controller, rendered } = setup();
    cluster.seed(ingressClassesResource, cls("haproxy", "kctl.local/haproxy-ingress"));
    cluster.seed(ingressesResource, ingress("unclassed"));
    await controller.sync(syncKey);
    expect(rendered()).not.toContain("unclassed.example");
  });

  it("writes nothing where the ingress is not installed (no haproxy Service)", async () => {
    const { cluster, controller, actions } = setup(false);
    cluster.seed(ingressClassesResource, cls("haproxy", "kctl.local/haproxy-ingress"));
    cluster.seed(ingressesResource, ingress("named", "haproxy"));
    await controller.sync(syncKey);
    expect(actions()).toEqual([]);
  });

  it("reports a missing Service once, as a Warning on the Ingress", async () => {
    const { cluster, controller, rendered } = setup();
    cluster.seed(ingressClassesResource, cls("haproxy", "kctl.local/haproxy-ingress"));
    cluster.seed(ingressesResource, ingress("broken", "haproxy", "nope"));
    await controller.sync(syncKey);
    await controller.sync(syncKey);
    expect(cluster.events.map((e) => `${e.type} ${e.reason} ${e.object}: ${e.message}`)).toEqual([
      "Warning ServiceNotFound shop/broken: Service shop/nope not found",
    ]);
    expect(rendered()).toContain("backend be_shop_nope_80\n");
  });

  it("puts valid TLS Secrets' PEMs and the crt-list in the certificates Secret", async () => {
    const { cluster, controller } = setup();
    cluster.seed(ingressClassesResource, cls("haproxy", "kctl.local/haproxy-ingress"));
    const tls = ingress("secure", "haproxy");
    tls.spec!.tls = [{ hosts: ["secure.example"], secretName: "secure-tls" }];
    cluster.seed(ingressesResource, tls);
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    cluster.seed(secretsResource, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "secure-tls", namespace: "shop" },
      type: "kubernetes.io/tls",
      data: { "tls.crt": b64("CRT"), "tls.key": b64("KEY") },
    } as Secret);
    await controller.sync(syncKey);
    const data = cluster.stored<Secret>(secretsResource, `${ns}/haproxy-certs`)?.data ?? {};
    expect(Object.keys(data)).toEqual(["shop_secure-tls.pem", "crt-list"]);
    expect(Buffer.from(data["crt-list"]!, "base64").toString()).toBe(
      "/etc/haproxy/certs/shop_secure-tls.pem secure.example\n",
    );
  });
});
