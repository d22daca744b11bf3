import { describe, expect, it } from "vitest";
import type { EndpointsInput, ServiceInput } from "./inputs.js";
import { servicePorts } from "./service-ports.js";

const meta = { namespace: "shop", name: "web" };

function svc(spec: NonNullable<ServiceInput["spec"]>): ServiceInput {
  return { metadata: meta, spec };
}

const eps: EndpointsInput = {
  metadata: meta,
  subsets: [
    {
      addresses: [{ ip: "10.244.2.9" }, { ip: "10.244.1.3" }],
      notReadyAddresses: [{ ip: "10.244.1.4" }],
      ports: [
        { name: "http", port: 8080, protocol: "TCP" },
        { name: "dns", port: 53, protocol: "UDP" },
      ],
    },
    { addresses: [{ ip: "10.244.1.3" }], ports: [{ name: "http", port: 8080 }] },
  ],
};

describe("servicePorts", () => {
  it("pairs each service port with the ready addresses of the same-named endpoint port, sorted and unique", () => {
    const { ports, problems } = servicePorts(
      svc({
        clusterIP: "10.96.0.10",
        type: "NodePort",
        ports: [
          { name: "http", port: 80, targetPort: "http", nodePort: 30080 },
          { name: "dns", port: 53, protocol: "UDP", nodePort: 30053 },
        ],
      }),
      eps,
    );
    expect(problems).toEqual([]);
    expect(ports).toEqual([
      {
        id: "shop/web/tcp/http",
        service: "shop/web",
        protocol: "tcp",
        clusterIP: "10.96.0.10",
        port: 80,
        nodePort: 30080,
        affinitySeconds: undefined,
        endpoints: [
          { ip: "10.244.1.3", port: 8080 },
          { ip: "10.244.2.9", port: 8080 },
        ],
      },
      expect.objectContaining({
        id: "shop/web/udp/dns",
        protocol: "udp",
        nodePort: 30053,
        endpoints: [
          { ip: "10.244.1.3", port: 53 },
          { ip: "10.244.2.9", port: 53 },
        ],
      }),
    ]);
  });

  it("ignores node ports of ClusterIP services and defaults the affinity timeout", () => {
    const { ports } = servicePorts(
      svc({ clusterIP: "10.96.0.10", sessionAffinity: "ClientIP", ports: [{ port: 80, nodePort: 30080 }] }),
      undefined,
    );
    expect(ports).toEqual([
      expect.objectContaining({
        id: "shop/web/tcp/",
        nodePort: undefined,
        affinitySeconds: 10800,
        endpoints: [],
      }),
    ]);
  });

  it.each([
    ["headless", { clusterIP: "None", ports: [{ port: 80 }] }],
    ["not yet allocated", { ports: [{ port: 80 }] }],
    ["ExternalName", { type: "ExternalName", clusterIP: "10.96.0.1", ports: [{ port: 80 }] }],
  ])("gives %s services no rules and no complaint", (_what, spec) => {
    expect(servicePorts(svc(spec), eps)).toEqual({ ports: [], problems: [] });
  });

  it.each([
    [
      { clusterIP: "10.96.0.300", ports: [{ port: 80 }] },
      'Service shop/web: spec.clusterIP: "10.96.0.300" is not an IPv4 address',
    ],
    [
      { clusterIP: "10.96.0.1", ports: [{ port: 80, protocol: "SCTP" }] },
      'Service shop/web: spec.ports[0].protocol: "SCTP" is not supported (TCP or UDP)',
    ],
    [
      { clusterIP: "10.96.0.1", ports: [{ port: 0 }] },
      "Service shop/web: spec.ports[0].port: 0 is not a port (1-65535)",
    ],
    [
      { clusterIP: "10.96.0.1", type: "NodePort", ports: [{ port: 80 }] },
      "Service shop/web: spec.ports[0].nodePort: undefined is not a port (1-65535)",
    ],
    [
      { clusterIP: "10.96.0.1", type: "Weird", ports: [{ port: 80 }] },
      'Service shop/web: spec.type: "Weird" is not supported (ClusterIP, NodePort, LoadBalancer)',
    ],
    [
      { clusterIP: "10.96.0.1", sessionAffinity: "Cookie", ports: [{ port: 80 }] },
      'Service shop/web: spec.sessionAffinity: "Cookie" is not None or ClientIP',
    ],
    [
      {
        clusterIP: "10.96.0.1",
        sessionAffinity: "ClientIP",
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } },
        ports: [{ port: 80 }],
      },
      "Service shop/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: 0 is not 1..86400 seconds",
    ],
    [
      {
        clusterIP: "10.96.0.1",
        ports: [
          { name: "a", port: 80 },
          { name: "b", port: 80 },
        ],
      },
      'Service shop/web: spec.ports[1]: port 80/tcp or name "b" repeats spec.ports[0]',
    ],
  ])("leaves out the whole service on a bad field: %j", (spec, problem) => {
    const { ports, problems } = servicePorts(
      svc({ ...spec, ports: [...spec.ports, { name: "ok", port: 9999 }] }),
      eps,
    );
    expect(ports).toEqual([]);
    expect(problems).toContain(problem);
  });

  it("leaves out only the bad endpoint entries, naming their path", () => {
    const bad: EndpointsInput = {
      metadata: meta,
      subsets: [
        { addresses: [{ ip: "10.244.1.3" }, { ip: "nope" }], ports: [{ name: "http", port: 8080 }] },
        { addresses: [{ ip: "10.244.1.5" }], ports: [{ name: "http", port: 70000 }] },
      ],
    };
    const { ports, problems } = servicePorts(
      svc({ clusterIP: "10.96.0.1", ports: [{ name: "http", port: 80 }] }),
      bad,
    );
    expect(ports[0]!.endpoints).toEqual([{ ip: "10.244.1.3", port: 8080 }]);
    expect(problems).toEqual([
      'Endpoints shop/web: subsets[0].addresses[1].ip: "nope" is not an IPv4 address',
      "Endpoints shop/web: subsets[1].ports[0].port: 70000 is not a port (1-65535)",
    ]);
  });
});
