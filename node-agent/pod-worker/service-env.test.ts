import { describe, expect, it } from "vitest";
import type { Service } from "../../proto/gen/api.js";
import { serviceEnv } from "./service-env.js";

const svc = (
  namespace: string,
  name: string,
  clusterIP: string,
  ports: NonNullable<NonNullable<Service["spec"]>["ports"]>,
): Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { namespace, name },
  spec: { clusterIP, ports },
});

describe("serviceEnv", () => {
  it("gives Kubernetes' variables for the namespace's Services and the kubernetes Service", () => {
    const env = serviceEnv(
      [
        svc("shop", "catalog-api", "10.96.0.7", [
          { name: "http", port: 80, protocol: "TCP" },
          { name: "metrics", port: 9090 },
        ]),
        svc("default", "kubernetes", "10.96.0.1", [{ name: "https", port: 443 }]),
        svc("other", "hidden", "10.96.0.9", [{ port: 1 }]),
        svc("shop", "headless", "None", [{ port: 5 }]),
      ],
      "shop",
    );
    expect(env.get("CATALOG_API_SERVICE_HOST")).toBe("10.96.0.7");
    expect(env.get("CATALOG_API_SERVICE_PORT")).toBe("80");
    expect(env.get("CATALOG_API_SERVICE_PORT_METRICS")).toBe("9090");
    expect(env.get("CATALOG_API_PORT")).toBe("tcp://10.96.0.7:80");
    expect(env.get("CATALOG_API_PORT_9090_TCP_ADDR")).toBe("10.96.0.7");
    expect(env.get("KUBERNETES_SERVICE_HOST")).toBe("10.96.0.1");
    expect([...env.keys()].some((k) => k.startsWith("HIDDEN") || k.startsWith("HEADLESS"))).toBe(false);
  });
});
