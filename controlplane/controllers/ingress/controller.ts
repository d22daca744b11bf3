/**
 * The ingress controller: renders every Ingress of its class (IngressClass with controller
 * `kctl.local/haproxy-ingress`) into the haproxy.cfg of ConfigMap ingress-haproxy/haproxy-config and
 * the PEMs of Secret ingress-haproxy/haproxy-certs, which haproxy pods (image
 * kctl.local/haproxy:debian) mount at /etc/haproxy/config and /etc/haproxy/certs and reload from;
 * and publishes the address of their LoadBalancer Service ingress-haproxy/haproxy in each
 * Ingress's status.loadBalancer.
 *
 * The haproxy Service is what says the ingress is installed: without it nothing is written. The
 * ConfigMap and Secret are this controller's alone (created when missing), so the manifest holds
 * none of the data the controller writes and re-applying it never reverts a rendered config. All
 * Ingresses render into one config, so every change
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
    if (!this.opts.services.get(`${ingressNamespace}/${ingressServiceName}`)) return;
    const ours = this.ingressesOfOurClass();
    const table = buildRoutingTable({
      ingresses: ours,
      service: (ns, name) => this.opts.services.get(`${ns}/${name}`),
      secret: (ns, name) => this.opts.secrets.get(`${ns}/${name}`),
    });
    this.report(table.problems);
    const rendered = renderHaproxyConfig(table);
    if (await this.write(configMapsResource, configMapName, { [configFile]: rendered.config }))
      trace("config", `${table.routes.length} routes, ${table.backends.length} backends`);
    const certificates = Object.fromEntries(
      Object.entries(rendered.certificates).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
    );
    if (await this.write(secretsResource, certificatesSecretName, certificates))
      trace("certificates", Object.keys(certificates).join(","));
    await this.publishAddresses(ours);
  }

  /**
   * Makes the `data` of ConfigMap or Secret `name` in the ingress namespace exactly `data`,
   * creating the object when missing; false when it already was.
   */
  private async write(
    info: typeof configMapsResource,
    name: string,
    data: Record<string, string>,
  ): Promise<boolean> {
    const lister = info === configMapsResource ? this.opts.configMaps : this.opts.secrets;
    const current = lister.get(`${ingressNamespace}/${name}`) as DeepReadonly<ConfigMap | Secret> | undefined;
    if (!current) {
      await this.opts.client.create(info, ingressNamespace, {
        apiVersion: "v1",
        kind: info.kind,
        metadata: {
          name,
          namespace: ingressNamespace,
          labels: { "app.kubernetes.io/managed-by": "ingress-controller" },
        },
        data,
      });
      return true;
    }
    if (sameData(current.data, data)) return false;
    const next = structuredClone(current) as (ConfigMap | Secret) & { metadata: object };
    next.data = data;
    await this.opts.client.update(info, next);
    return true;
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
