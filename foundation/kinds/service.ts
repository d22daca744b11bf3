/** Service: a stable virtual IP and ports in front of the pods its selector matches. */

import type { Service } from "../../proto/gen/api.js";
import { defaultService } from "../api/defaults.js";
import { validateService, validateServiceUpdate } from "../api/validation/service.js";
import { created, none } from "../printers/cells.js";
import { defineKind } from "./kind.js";

function servicePorts(svc: Service): string {
  const ports = svc.spec?.ports ?? [];
  if (ports.length === 0) return none;
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`).join(",");
}

/** As kubectl prints it: the alias of an ExternalName, a LoadBalancer's addresses or `<pending>`. */
function externalIP(svc: Service): string {
  const type = svc.spec?.type ?? "ClusterIP";
  if (type === "ExternalName") return svc.spec?.externalName || none;
  if (type !== "LoadBalancer") return none;
  const ips = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname).filter(Boolean);
  return ips.length > 0 ? ips.join(",") : "<pending>";
}

export const serviceKind = defineKind<Service>({
  resource: {
    group: "",
    version: "v1",
    kind: "Service",
    plural: "services",
    singular: "service",
    shortNames: ["svc"],
    namespaced: true,
    subresources: ["status"],
    message: "kctl.api.Service",
    hasStatus: true,
  },
  defaults: defaultService,
  validate: (c, svc, old) => {
    validateService(c, svc);
    if (old) validateServiceUpdate(c, svc, old);
  },
  columns: {
    headers: ["TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
    wideHeaders: ["SELECTOR"],
    cells: (svc, now) => [
      svc.spec?.type ?? "ClusterIP",
      svc.spec?.clusterIP || none,
      externalIP(svc),
      servicePorts(svc),
      created(svc, now),
    ],
    wideCells: (svc) => {
      const sel = svc.spec?.selector;
      return [
        sel && Object.keys(sel).length
          ? Object.entries(sel)
              .map(([k, v]) => `${k}=${v}`)
              .join(",")
          : none,
      ];
    },
  },
  describe: (w, svc, { endpoints }) => {
    w.map(0, "Selector", svc.spec?.selector);
    w.field(0, "Type", svc.spec?.type ?? "ClusterIP");
    w.field(0, "IP", svc.spec?.clusterIP);
    if (svc.spec?.externalName) w.field(0, "External Name", svc.spec.externalName);
    const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname);
    if (ingress.length > 0) w.field(0, "LoadBalancer Ingress", ingress.join(", "));
    if (svc.spec?.externalTrafficPolicy)
      w.field(0, "External Traffic Policy", svc.spec.externalTrafficPolicy);
    if (svc.spec?.internalTrafficPolicy)
      w.field(0, "Internal Traffic Policy", svc.spec.internalTrafficPolicy);
    if (svc.spec?.healthCheckNodePort)
      w.field(0, "HealthCheck NodePort", String(svc.spec.healthCheckNodePort));
    w.field(0, "Session Affinity", svc.spec?.sessionAffinity ?? "None");
    const addrs = (endpoints?.subsets ?? []).flatMap((s) =>
      (s.addresses ?? []).flatMap((a) =>
        (s.ports?.length ? s.ports : [{ port: undefined }]).map((p) =>
          p.port ? `${a.ip}:${p.port}` : `${a.ip}`,
        ),
      ),
    );
    for (const p of svc.spec?.ports ?? []) {
      w.field(0, "Port", `${p.name || "<unset>"}  ${p.port}/${p.protocol ?? "TCP"}`);
      w.field(0, "TargetPort", `${p.targetPort ?? p.port}/${p.protocol ?? "TCP"}`);
      if (p.nodePort) w.field(0, "NodePort", `${p.name || "<unset>"}  ${p.nodePort}/${p.protocol ?? "TCP"}`);
    }
    w.field(0, "Endpoints", addrs.join(","));
  },
});
