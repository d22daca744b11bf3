/**
 * The Service discovery variables the kubelet gives every container, for each Service that exists
 * when the container starts in the pod's namespace (and `kubernetes` from `default`):
 * `WEB_SERVICE_HOST=10.96.0.5`, `WEB_SERVICE_PORT=80`, `WEB_SERVICE_PORT_HTTP=80`, and the Docker
 * link style `WEB_PORT=tcp://10.96.0.5:80`, `WEB_PORT_80_TCP=...`, `_PROTO`, `_PORT`, `_ADDR`.
 * Headless Services (no ClusterIP) give none.
 */
import type { Service } from "../../proto/gen/api.js";

const envName = (name: string) => name.toUpperCase().replace(/-/g, "_");

export function serviceEnv(services: readonly Service[], namespace: string): Map<string, string> {
  const env = new Map<string, string>();
  const relevant = services.filter(
    (s) =>
      s.metadata.namespace === namespace ||
      (s.metadata.namespace === "default" && s.metadata.name === "kubernetes"),
  );
  for (const svc of relevant) {
    const ip = svc.spec?.clusterIP;
    const ports = svc.spec?.ports ?? [];
    if (!ip || ip === "None" || ports.length === 0) continue;
    const name = envName(svc.metadata.name ?? "");
    env.set(`${name}_SERVICE_HOST`, ip);
    env.set(`${name}_SERVICE_PORT`, String(ports[0]!.port));
    for (const p of ports) if (p.name) env.set(`${name}_SERVICE_PORT_${envName(p.name)}`, String(p.port));
    const first = ports[0]!;
    env.set(`${name}_PORT`, `${(first.protocol ?? "TCP").toLowerCase()}://${ip}:${first.port}`);
    for (const p of ports) {
      const proto = (p.protocol ?? "TCP").toLowerCase();
      const prefix = `${name}_PORT_${p.port}_${proto.toUpperCase()}`;
      env.set(prefix, `${proto}://${ip}:${p.port}`);
      env.set(`${prefix}_PROTO`, proto);
      env.set(`${prefix}_PORT`, String(p.port));
      env.set(`${prefix}_ADDR`, ip);
    }
  }
  return env;
}
