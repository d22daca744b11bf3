import { describe, expect, it } from "vitest";
import type { Namespace, NetworkPolicy, NetworkPolicySpec, Pod } from "../../proto/gen/api.js";
import { type Allow, computePolicyModel, type PolicyModel } from "./policy-model.js";

// Upstream's e2e layout: namespaces x, y, z, each with pods a, b, c serving TCP 80 and 81.
const namespaces = ["x", "y", "z"];
const podNames = ["a", "b", "c"];
const ipOf = (ns: string, pod: string) => `10.244.${namespaces.indexOf(ns) + 1}.${podNames.indexOf(pod) + 2}`;

const nsObjects: Namespace[] = namespaces.map((ns) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: ns, labels: { ns } },
}));

function pod(ns: string, name: string, extra: Partial<Pod> = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, labels: { pod: name } },
    spec: {
      nodeName: "n1",
      containers: [
        { name: "c80", ports: [{ name: "serve-80-tcp", containerPort: 80, protocol: "TCP" }] },
        { name: "c81", ports: [{ name: "serve-81-tcp", containerPort: 81, protocol: "TCP" }] },
      ],
    },
    status: { phase: "Running", podIP: ipOf(ns, name) },
    ...extra,
  };
}

const allPods = namespaces.flatMap((ns) => podNames.map((p) => pod(ns, p)));

function policy(ns: string, name: string, spec: NetworkPolicySpec): NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: ns },
    spec,
  };
}

function inCidr(ip: string, cidr: string): boolean {
  const num = (a: string) => a.split(".").reduce((n, p) => n * 256 + Number(p), 0);
  const [base, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(num(ip) / size) === Math.floor(num(base!) / size);
}

/** Whether `allows` (undefined: not isolated) admit `peer` to `dst:port/tcp`, read off the model as nft would. */
function admits(
  model: PolicyModel,
  allows: Allow[] | undefined,
  peer: string,
  dst: string,
  port: number,
): boolean {
  if (!allows) return true;
  return allows.some((a) => {
    const peerOk =
      a.peer.kind === "any" ||
      (a.peer.kind === "pods" && model.podSets.get(a.peer.set)!.has(peer)) ||
      (a.peer.kind === "cidr" && inCidr(peer, a.peer.cidr) && !a.peer.except.some((e) => inCidr(peer, e)));
    const p = a.port;
    const portOk =
      p.kind === "any" ||
      (p.kind === "protocol" && p.protocol === "TCP") ||
      (p.kind === "port" && p.protocol === "TCP" && port >= p.port && port <= (p.endPort ?? p.port)) ||
      (p.kind === "tuples" && model.tupleSets.get(p.set)!.has(`${dst} . tcp . ${port}`));
    return peerOk && portOk;
  });
}

/** The whole truth table `src -> dst:port` as lines `x/a -> y/b:80 ok|--`. */
function matrix(policies: NetworkPolicy[]): string[] {
  const model = computePolicyModel({ nodeName: "n1", policies, namespaces: nsObjects, pods: allPods });
  const byIp = new Map(model.pods.map((p) => [p.ip, p]));
  const names = namespaces.flatMap((ns) => podNames.map((p) => `${ns}/${p}`));
  const out: string[] = [];
  for (const from of names) {
    for (const to of names) {
      for (const port of [80, 81]) {
        const [fns, fp] = from.split("/") as [string, string];
        const [tns, tp] = to.split("/") as [string, string];
        const src = ipOf(fns, fp);
        const dst = ipOf(tns, tp);
        const ok =
          admits(model, byIp.get(src)?.egress, dst, dst, port) &&
          admits(model, byIp.get(dst)?.ingress, src, dst, port);
        out.push(`${from} -> ${to}:${port} ${ok ? "ok" : "--"}`);
      }
    }
  }
  return out;
}

/** The same table from a rule written as a predicate. */
function expected(allowed: (from: string, to: string, port: number) => boolean): string[] {
  const names = namespaces.flatMap((ns) => podNames.map((p) => `${ns}/${p}`));
  return names.flatMap((from) =>
    names.flatMap((to) =>
      [80, 81].map((port) => `${from} -> ${to}:${port} ${allowed(from, to, port) ? "ok" : "--"}`),
    ),
  );
}

const nsOf = (name: string) => name.split("/")[0];

describe("NetworkPolicy model: truth tables over x,y,z × a,b,c × 80,81", () => {
  const cases: [string, NetworkPolicy[], (from: string, to: string, port: number) => boolean][] = [
    ["no policy: everything", [], () => true],
    [
      "deny all ingress in x",
      [policy("x", "deny", { podSelector: {}, policyTypes: ["Ingress"] })],
      (_f, to) => nsOf(to) !== "x",
    ],
    [
      "allow x from its own namespace",
      [policy("x", "same-ns", { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] })],
      (f, to) => nsOf(to) !== "x" || nsOf(f) === "x",
    ],
    [
      "allow x/a from namespaces labelled ns=y",
      [
        policy("x", "from-y", {
          podSelector: { matchLabels: { pod: "a" } },
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: "y" } } }] }],
        }),
      ],
      (f, to) => to !== "x/a" || nsOf(f) === "y",
    ],
    [
      "namespace and pod selector in one peer: only pods b of y",
      [
        policy("x", "yb", {
          podSelector: {},
          ingress: [
            {
              from: [
                {
                  namespaceSelector: { matchLabels: { ns: "y" } },
                  podSelector: { matchLabels: { pod: "b" } },
                },
              ],
            },
          ],
        }),
      ],
      (f, to) => nsOf(to) !== "x" || f === "y/b",
    ],
    [
      "ipBlock with except: pods of y (10.244.2.0/24) left out",
      [
        policy("x", "cidr", {
          podSelector: {},
          ingress: [{ from: [{ ipBlock: { cidr: "10.244.0.0/16", except: ["10.244.2.0/24"] } }] }],
        }),
      ],
      (f, to) => nsOf(to) !== "x" || nsOf(f) !== "y",
    ],
    [
      "named port: x accepts only serve-81-tcp",
      [
        policy("x", "p81", {
          podSelector: {},
          ingress: [{ ports: [{ port: "serve-81-tcp", protocol: "TCP" }] }],
        }),
      ],
      (_f, to, port) => nsOf(to) !== "x" || port === 81,
    ],
    [
      "port range 80-81 admits both, 81-90 only 81",
      [
        policy("x", "r1", {
          podSelector: { matchLabels: { pod: "a" } },
          ingress: [{ ports: [{ port: 80, endPort: 81, protocol: "TCP" }] }],
        }),
        policy("x", "r2", {
          podSelector: { matchLabels: { pod: "b" } },
          ingress: [{ ports: [{ port: 81, endPort: 90, protocol: "TCP" }] }],
        }),
      ],
      (_f, to, port) => to !== "x/b" || port === 81,
    ],
    [
      "two policies add up",
      [
        policy("x", "from-y", {
          podSelector: {},
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: "y" } } }] }],
        }),
        policy("x", "from-z-a", {
          podSelector: {},
          ingress: [
            {
              from: [
                {
                  namespaceSelector: { matchLabels: { ns: "z" } },
                  podSelector: { matchLabels: { pod: "a" } },
                },
              ],
            },
          ],
        }),
      ],
      (f, to) => nsOf(to) !== "x" || nsOf(f) === "y" || f === "z/a",
    ],
    [
      "egress of x only to y on the named port serve-80-tcp",
      [
        policy("x", "eg", {
          podSelector: {},
          policyTypes: ["Egress"],
          egress: [
            {
              to: [{ namespaceSelector: { matchLabels: { ns: "y" } } }],
              ports: [{ port: "serve-80-tcp", protocol: "TCP" }],
            },
          ],
        }),
      ],
      (f, to, port) => nsOf(f) !== "x" || (nsOf(to) === "y" && port === 80),
    ],
    [
      "egress deny all but UDP 53 blocks every TCP probe out of x; ingress untouched",
      [
        policy("x", "dns", {
          podSelector: {},
          policyTypes: ["Egress"],
          egress: [{ ports: [{ port: 53, protocol: "UDP" }] }],
        }),
      ],
      (f) => nsOf(f) !== "x",
    ],
    [
      "ingress and egress in one policy (policyTypes defaulted from egress rules)",
      [
        policy("y", "both", {
          podSelector: { matchLabels: { pod: "c" } },
          ingress: [{ from: [{ podSelector: { matchLabels: { pod: "a" } } }] }],
          egress: [{ to: [{ podSelector: {} }] }],
        }),
      ],
      (f, to) => (to !== "y/c" || f === "y/a") && (f !== "y/c" || nsOf(to) === "y"),
    ],
    [
      "a policy in another namespace selects nothing here",
      [policy("z", "deny", { podSelector: {}, policyTypes: ["Ingress"] })],
      (_f, to) => nsOf(to) !== "z",
    ],
  ];

  it.each(cases)("%s", (_, policies, allowed) => {
    expect(matrix(policies)).toEqual(expected(allowed));
  });

  it("names pods whose labels no longer match out of the sets", () => {
    const pods = allPods.map((p) =>
      p.metadata.name === "a" && p.metadata.namespace === "y"
        ? { ...p, metadata: { ...p.metadata, labels: {} } }
        : p,
    );
    const model = computePolicyModel({
      nodeName: "n1",
      policies: [
        policy("x", "a", {
          podSelector: {},
          ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: "a" } } }] }],
        }),
      ],
      namespaces: nsObjects,
      pods,
    });
    expect([...model.podSets.values()].map((s) => [...s].sort())).toEqual([["10.244.1.2", "10.244.3.2"]]);
  });

  it("enforces only for this node's running pods and leaves finished pods out of sets", () => {
    const pods = [
      pod("x", "a"),
      pod("x", "b", { spec: { ...pod("x", "b").spec, nodeName: "n2" } }),
      pod("x", "c", { status: { phase: "Succeeded", podIP: ipOf("x", "c") } }),
    ];
    const model = computePolicyModel({
      nodeName: "n1",
      policies: [policy("x", "p", { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] })],
      namespaces: nsObjects,
      pods,
    });
    expect(model.pods.map((p) => p.pod)).toEqual(["x/a"]);
    expect([...model.podSets.values()].map((s) => [...s].sort())).toEqual([[ipOf("x", "a"), ipOf("x", "b")]]);
  });
});
