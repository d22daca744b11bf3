/**
 * The ingress controller: renders every Ingress of its class (IngressClass with controller
 * `kctl.local/haproxy-ingress`) into the haproxy.cfg of ConfigMap ingress-haproxy/haproxy-config and
 * the PEMs of Secret ingress-haproxy/haproxy-certs, which the haproxy pods of
 * manifests/ingress-haproxy.yaml mount and reload from; and publishes the address of their
 * LoadBalancer Service ingress-haproxy/haproxy in each Ingress's status.loadBalancer.
 *
 * It fills the ConfigMap and Secret the manifest creates and never creates them: a cluster without
 * the ingress installed gets no writes. All Ingresses render into one config, so every change
 * enqueues the one key and `sync` rebuilds the whole table from the caches (level-triggered; an
 * unchanged table writes nothing). It never touches a host or a pod.
 */

import { objectKey } from "../../../foundation/api/object.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import { tracer } from "../../../foundation/util/trace.js";
import type {
  ConfigMap,
  Ingress,
  IngressClass,
  IngressLoadBalancerIngress,
  Secret,
  Service,
} from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import type { EventRecorder } from "../../client/events.js";
import type { DeepReadonly, EventHandler, Lister } from "../../client/index.js";
import { configFile, renderHaproxyConfig } from "./haproxy-config.js";
import { buildRoutingTable } from "./routes.js";

const trace = tracer("ingress-controller");

export const ingressControllerName = "kctl.local/haproxy-ingress";
export const ingressNamespace = "ingress-haproxy";
export const configMapName = "haproxy-config";
export const certificatesSecretName = "haproxy-certs";
export const ingressServiceName = "haproxy";
/** The one work-queue key: the whole rendered config. */
export const syncKey = `${ingressNamespace}/${configMapName}`;

const defaultClassAnnotation = "ingressclass.kubernetes.io/is-default-class";
const legacyClassAnnotation = "kubernetes.io/ingress.class";

export const ingressesResource = resourceForKind("networking.k8s.io/v1", "Ingress")!;
export const ingressClassesResource = resourceForKind("networking.k8s.io/v1", "IngressClass")!;
export const servicesResource = resourceForKind("v1", "Service")!;
export const secretsResource = resourceForKind("v1", "Secret")!;
export const configMapsResource = resourceForKind("v1", "ConfigMap")!;

export interface IngressControllerOptions {
  ingresses: Lister<Ingress>;
  ingressClasses: Lister<IngressClass>;
  services: Lister<Service>;
  secrets: Lister<Secret>;
  configMaps: Lister<ConfigMap>;
  client: ControllerClient;
  recorder: EventRecorder;
  queue: { add(key: string): void };
}

export class IngressController {
  /** Problems already reported, so a sync that finds the same ones records no new Events. */
  private reported = new Set<string>();

  constructor(private readonly opts: IngressControllerOptions) {}

  /** Any change to what the config is rendered from re-renders it. */
  readonly handler: EventHandler<unknown> = {
    onAdd: () => this.opts.queue.add(syncKey),
    onUpdate: () => this.opts.queue.add(syncKey),
    onDelete: () => this.opts.queue.add(syncKey),
  };

  async sync(_key: string): Promise<void> {
    const cm = this.opts.configMaps.get(syncKey);
    const certs = this.opts.secrets.get(`${ingressNamespace}/${certificatesSecretName}`);
    if (!cm || !certs) return;
    const ours = this.ingressesOfOurClass();
    const table = buildRoutingTable({
      ingresses: ours,
      service: (ns, name) => this.opts.services.get(`${ns}/${name}`),
      secret: (ns, name) => this.opts.secrets.get(`${ns}/${name}`),
    });
    this.report(table.problems);
    const rendered = renderHaproxyConfig(table);
    if (cm.data?.[configFile] !== rendered.config) {
      const next = structuredClone(cm) as ConfigMap & { metadata: object };
      next.data = { ...next.data, [configFile]: rendered.config };
      await this.opts.client.update(configMapsResource, next);
      trace("config", `${table.routes.length} routes, ${table.backends.length} backends`);
    }
    const data = Object.fromEntries(
      Object.entries(rendered.certificates).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
    );
    if (!sameData(certs.data, data)) {
      const next = structuredClone(certs) as Secret & { metadata: object };
      next.data = data;
      await this.opts.client.update(secretsResource, next);
      trace("certificates", Object.keys(data).join(","));
    }
    await this.publishAddresses(ours);
  }

  /**
   * Ingresses naming one of our IngressClasses (by spec.ingressClassName, else the legacy
   * annotation), and those naming none when one of ours is marked the default class.
   */
  private ingressesOfOurClass(): DeepReadonly<Ingress>[] {
    const classes = this.opts.ingressClasses
      .list()
      .filter((c) => c.spec?.controller === ingressControllerName);
    const names = new Set(classes.map((c) => c.metadata.name));
    const isDefault = classes.some((c) => c.metadata.annotations?.[defaultClassAnnotation] === "true");
    return this.opts.ingresses.list().filter((ing) => {
      const name = ing.spec?.ingressClassName ?? ing.metadata.annotations?.[legacyClassAnnotation];
      return name ? names.has(name) : isDefault;
    });
  }

  private report(problems: ReturnType<typeof buildRoutingTable>["problems"]): void {
    const now = new Set<string>();
    for (const p of problems) {
      const id = `${objectKey(p.ingress)} ${p.reason} ${p.message}`;
      now.add(id);
      if (!this.reported.has(id)) this.opts.recorder.event(p.ingress, "Warning", p.reason, p.message);
    }
    this.reported = now;
  }

  private async publishAddresses(ours: readonly DeepReadonly<Ingress>[]): Promise<void> {
    const svc = this.opts.services.get(`${ingressNamespace}/${ingressServiceName}`);
    const ingress: IngressLoadBalancerIngress[] = (svc?.status?.loadBalancer?.ingress ?? []).map((i) =>
      i.ip ? { ip: i.ip } : { hostname: i.hostname ?? "" },
    );
    for (const ing of ours) {
      if (JSON.stringify(ing.status?.loadBalancer?.ingress ?? []) === JSON.stringify(ingress)) continue;
      const next = structuredClone(ing) as Ingress & { metadata: object };
      next.status = { loadBalancer: ingress.length ? { ingress } : {} };
      await this.opts.client.updateStatus(ingressesResource, next);
    }
  }
}

function sameData(a: DeepReadonly<Record<string, string>> | undefined, b: Record<string, string>): boolean {
  const x = Object.entries(a ?? {});
  return x.length === Object.keys(b).length && x.every(([k, v]) => b[k] === v);
}
