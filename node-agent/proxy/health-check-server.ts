/**
 * The health check server of LoadBalancer Services with `externalTrafficPolicy: Local`, as
 * kube-proxy's: on each Service's `spec.healthCheckNodePort`, on every address of the node, any GET
 * answers 200 when this node has a ready endpoint of the Service and 503 when it has none, with
 * `{"service":{"namespace","name"},"localEndpoints":N,"serviceProxyHealthy":true}`. An external
 * load balancer probing it sends traffic only to nodes that keep it (the client address with it).
 * The count is read at request time, so endpoint changes need no restart of a listener.
 *
 * Lifecycle: construct, feed Services and Endpoints with set/delete (listeners open and close as
 * ports come and go), `stop()` closes every listener.
 */
import { createServer, type Server } from "node:http";
import { tracer } from "../../foundation/util/trace.js";
import { ProxyError } from "./errors.js";
import { type EndpointsInput, type ServiceInput, serviceKey } from "./inputs.js";
import { localAddresses } from "./service-ports.js";

const trace = tracer("proxy");

export interface HealthCheckServerConfig {
  /** This node's name: its ready endpoints are the ones counted. */
  nodeName: string;
  /** Address to listen on; default every address (`0.0.0.0`). */
  host?: string;
  /** Told when a port cannot be listened on; default: traced. */
  onError?: (err: Error) => void;
}

export class HealthCheckServer {
  private readonly services = new Map<string, ServiceInput>();
  private readonly endpoints = new Map<string, EndpointsInput>();
  /** Port → the Service key it answers for, and its listener. */
  private readonly listeners = new Map<number, { key: string; server: Server }>();
  private stopped = false;

  constructor(private readonly config: HealthCheckServerConfig) {
    if (!config.nodeName) throw new ProxyError("Invalid", "health check server config nodeName: empty");
  }

  setService(svc: ServiceInput): void {
    this.services.set(serviceKey(svc), svc);
    this.sync();
  }

  deleteService(svc: ServiceInput): void {
    this.services.delete(serviceKey(svc));
    this.sync();
  }

  setEndpoints(eps: EndpointsInput): void {
    this.endpoints.set(serviceKey(eps), eps);
  }

  deleteEndpoints(eps: EndpointsInput): void {
    this.endpoints.delete(serviceKey(eps));
  }

  /** The ports listened on now (or being opened), each with its Service key. */
  ports(): Map<number, string> {
    return new Map([...this.listeners].map(([port, l]) => [port, l.key]));
  }

  /** Closes every listener; nothing opens after. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(all.map((l) => close(l.server)));
  }

  private wanted(): Map<number, string> {
    const ports = new Map<number, string>();
    for (const [key, svc] of this.services) {
      const port = svc.spec?.healthCheckNodePort;
      if (svc.spec?.type === "LoadBalancer" && svc.spec.externalTrafficPolicy === "Local" && port)
        ports.set(port, key);
    }
    return ports;
  }

  private sync(): void {
    if (this.stopped) return;
    const wanted = this.wanted();
    for (const [port, l] of this.listeners) {
      if (wanted.get(port) === l.key) continue;
      this.listeners.delete(port);
      void close(l.server);
    }
    for (const [port, key] of wanted) {
      if (this.listeners.has(port)) continue;
      const server = createServer((req, res) => {
        const svc = this.listeners.get(port)?.key ?? key;
        const [namespace, name] = svc.split("/") as [string, string];
        const local = localAddresses(this.endpoints.get(svc), this.config.nodeName).size;
        res.writeHead(local > 0 ? 200 : 503, {
          "Content-Type": "application/json",
          "X-Content-Type-Options": "nosniff",
        });
        res.end(
          JSON.stringify({ service: { namespace, name }, localEndpoints: local, serviceProxyHealthy: true }),
        );
        req.resume();
      });
      server.on("error", (err) => {
        if (this.listeners.get(port)?.server === server) this.listeners.delete(port);
        const error = new ProxyError(
          "CommandFailed",
          `health check of Service ${key}: port ${port}: ${err.message}`,
          {
            cause: err,
          },
        );
        (this.config.onError ?? ((e) => trace("health check listen failed", e.message)))(error);
      });
      server.listen(port, this.config.host ?? "0.0.0.0");
      this.listeners.set(port, { key, server });
    }
  }
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
