import { describe, expect, it } from "vitest";
import type { NetworkPolicy } from "../../proto/gen/api.js";
import type { KubeObject } from "../api/object.js";
import { resourceForKind } from "../api/resources.js";
import { DescribeWriter } from "../printers/describe-writer.js";
import { applyDefaults, validateObject } from "./index.js";
import { networkPolicyKind } from "./networkpolicy.js";

const info = resourceForKind("networking.k8s.io/v1", "NetworkPolicy")!;

function policy(spec: NetworkPolicy["spec"]): NetworkPolicy & KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "p", namespace: "x" },
    spec,
  } as NetworkPolicy & KubeObject;
}

const causes = (spec: NetworkPolicy["spec"]) =>
  validateObject(info, applyDefaults(info, policy(spec))).map((c) => `${c.field}: ${c.message}`);

describe("NetworkPolicy defaults", () => {
  it.each([
    ["no rules", {}, ["Ingress"]],
    ["ingress rules only", { ingress: [{}] }, ["Ingress"]],
    ["egress rules", { egress: [{}] }, ["Ingress", "Egress"]],
    ["explicit types kept", { policyTypes: ["Egress"] }, ["Egress"]],
  ])("policyTypes with %s", (_, spec, want) => {
    expect(applyDefaults(info, policy(spec)).spec?.policyTypes).toEqual(want);
  });

  it("fills protocol TCP and an empty podSelector, idempotently", () => {
    const np = applyDefaults(
      info,
      policy({ ingress: [{ ports: [{ port: 80 }, { protocol: "UDP", port: 53 }] }] }),
    );
    expect(np.spec?.podSelector).toEqual({});
    expect(np.spec?.ingress?.[0]?.ports).toEqual([
      { protocol: "TCP", port: 80 },
      { protocol: "UDP", port: 53 },
    ]);
    expect(applyDefaults(info, structuredClone(np))).toEqual(np);
  });
});

describe("NetworkPolicy validation", () => {
  it("accepts a policy using every feature", () => {
    expect(
      causes({
        podSelector: { matchLabels: { app: "db" } },
        ingress: [
          {
            ports: [{ port: 80 }, { port: "http" }, { port: 30000, endPort: 32767 }, { protocol: "UDP" }],
            from: [
              { podSelector: { matchLabels: { role: "web" } }, namespaceSelector: {} },
              { ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } },
              { ipBlock: { cidr: "2001:db8::/32", except: ["2001:db8:1::/48"] } },
            ],
          },
        ],
        egress: [
          { to: [{ namespaceSelector: { matchExpressions: [{ key: "team", operator: "Exists" }] } }] },
        ],
      }),
    ).toEqual([]);
  });

  it.each([
    [
      "bad protocol",
      { ingress: [{ ports: [{ protocol: "ICMP", port: 1 }] }] },
      "spec.ingress[0].ports[0].protocol: Unsupported value",
    ],
    [
      "port out of range",
      { ingress: [{ ports: [{ port: 70000 }] }] },
      "spec.ingress[0].ports[0].port: Invalid value: 70000",
    ],
    [
      "bad port name",
      { egress: [{ ports: [{ port: "Not_A_Name" }] }] },
      "spec.egress[0].ports[0].port: Invalid value",
    ],
    [
      "endPort below port",
      { ingress: [{ ports: [{ port: 100, endPort: 99 }] }] },
      "spec.ingress[0].ports[0].endPort: Invalid value: 99: must be greater than or equal to `port`",
    ],
    [
      "endPort with a named port",
      { ingress: [{ ports: [{ port: "http", endPort: 90 }] }] },
      "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
    ],
    [
      "endPort without port",
      { ingress: [{ ports: [{ endPort: 90 }] }] },
      "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is not specified",
    ],
    [
      "endPort out of range",
      { ingress: [{ ports: [{ port: 1, endPort: 65536 }] }] },
      "spec.ingress[0].ports[0].endPort: Invalid value: 65536: must be between 1 and 65535",
    ],
    [
      "empty peer",
      { ingress: [{ from: [{}] }] },
      "spec.ingress[0].from[0]: Required value: must specify a peer",
    ],
    [
      "ipBlock with a selector",
      { egress: [{ to: [{ podSelector: {}, ipBlock: { cidr: "10.0.0.0/8" } }] }] },
      "spec.egress[0].to[0]: Forbidden: may not specify both ipBlock and another peer",
    ],
    [
      "ipBlock without cidr",
      { ingress: [{ from: [{ ipBlock: {} }] }] },
      "spec.ingress[0].from[0].ipBlock.cidr: Required value",
    ],
    [
      "bad cidr",
      { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/33" } }] }] },
      "spec.ingress[0].from[0].ipBlock.cidr: Invalid value",
    ],
    [
      "except outside cidr",
      { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/16", except: ["10.1.0.0/24"] } }] }] },
      'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`',
    ],
    [
      "except equal to cidr",
      { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/16", except: ["10.0.0.0/16"] } }] }] },
      'ipBlock.except[0]: Invalid value: "10.0.0.0/16": must be a strict subset of `cidr`',
    ],
    [
      "unknown policy type",
      { policyTypes: ["Ingress", "Sideways"] },
      'spec.policyTypes[1]: Unsupported value: "Sideways"',
    ],
    [
      "three policy types",
      { policyTypes: ["Ingress", "Egress", "Ingress"] },
      "spec.policyTypes: Invalid value",
    ],
    [
      "bad pod selector",
      { podSelector: { matchExpressions: [{ key: "a", operator: "Near" }] } },
      "spec.podSelector.matchExpressions[0].operator",
    ],
    [
      "bad namespace selector in a peer",
      { ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: "a", operator: "In" }] } }] }] },
      "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values",
    ],
  ])("refuses %s naming the field", (_, spec, want) => {
    const got = causes(spec as NetworkPolicy["spec"]);
    expect(
      got.some((c) => c.includes(want)),
      got.join("\n"),
    ).toBe(true);
  });
});

describe("NetworkPolicy printing", () => {
  const np = applyDefaults(
    info,
    policy({
      podSelector: { matchLabels: { role: "db" } },
      ingress: [
        {
          ports: [{ port: 6379 }],
          from: [
            { ipBlock: { cidr: "172.17.0.0/16", except: ["172.17.1.0/24"] } },
            {
              namespaceSelector: { matchLabels: { project: "p" } },
              podSelector: { matchLabels: { role: "web" } },
            },
          ],
        },
        {},
      ],
    }),
  );

  it("has kubectl's columns", () => {
    expect(networkPolicyKind.columns?.headers).toEqual(["POD-SELECTOR", "AGE"]);
    expect(networkPolicyKind.columns?.cells(np, 0)[0]).toBe("role=db");
    expect(networkPolicyKind.columns?.cells(applyDefaults(info, policy({})), 0)[0]).toBe("<none>");
  });

  it("describes as kubectl does", () => {
    const w = new DescribeWriter();
    networkPolicyKind.describe?.(w, np, {});
    expect(w.toString()).toBe(
      [
        "Spec:",
        "  PodSelector:  role=db",
        "  Allowing ingress traffic:",
        "    To Port: 6379/TCP",
        "    From:",
        "      IPBlock:",
        "        CIDR:  172.17.0.0/16",
        "        Except: 172.17.1.0/24",
        "    From:",
        "      NamespaceSelector:  project=p",
        "      PodSelector:        role=web",
        "    ----------",
        "    To Port: <any> (traffic allowed to all ports)",
        "    From: <any> (traffic not restricted by source)",
        "  Not affecting egress traffic",
        "  Policy Types:  Ingress",
        "",
      ].join("\n"),
    );
  });
});
