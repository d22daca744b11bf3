import { describe, expect, it } from "vitest";
import type { Pod } from "../../proto/gen/api.js";
import { expand, resolveEnv } from "./env.js";
import type { ObjectLookup } from "./object-lookup.js";

describe("expand ($(VAR) like Kubernetes)", () => {
  const vars: Record<string, string> = { A: "a", EMPTY: "" };
  it.each([
    ["$(A)", "a"],
    ["x$(A)y$(A)", "xaya"],
    ["$$(A)", "$(A)"],
    ["$$$(A)", "$a"],
    ["$(UNKNOWN)", "$(UNKNOWN)"],
    ["$(EMPTY)-", "-"],
    ["$(A", "$(A"],
    ["$A", "$A"],
    ["cost: 5$", "cost: 5$"],
    ["", ""],
  ])("%j → %j", (input, want) => {
    expect(expand(input, (n) => vars[n])).toBe(want);
  });
});

describe("resolveEnv", () => {
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "ns", uid: "u", labels: { tier: "web" } },
    spec: { nodeName: "n1" },
  };
  const lookup: ObjectLookup = {
    configMap: async (ns, name) =>
      ns === "ns" && name === "cm"
        ? { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { k: "v", "bad=key": "x" } }
        : undefined,
    secret: async (_ns, name) =>
      name === "s"
        ? {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name },
            data: { pw: Buffer.from("pass").toString("base64") },
          }
        : undefined,
  };

  it("orders envFrom before env, later names win, and expands against earlier values", async () => {
    const r = await resolveEnv(
      pod,
      {
        name: "c",
        command: ["echo", "$(K)"],
        args: ["$(NODE)-$(LATER)"],
        envFrom: [{ configMapRef: { name: "cm" } }, { secretRef: { name: "s" }, prefix: "S_" }],
        env: [
          { name: "k", value: "override" },
          { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
          { name: "REF", value: "$(NODE)/$(LATER)" },
          { name: "LATER", value: "l" },
          { name: "TIER", valueFrom: { fieldRef: { fieldPath: "metadata.labels['tier']" } } },
          { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
        ],
      },
      "spec.containers[0]",
      lookup,
      { podIP: "10.0.0.5" },
    );
    expect(Object.fromEntries(r.env.map((e) => [e.name, e.value]))).toEqual({
      k: "override",
      S_pw: "pass",
      NODE: "n1",
      REF: "n1/$(LATER)",
      LATER: "l",
      TIER: "web",
      IP: "10.0.0.5",
    });
    expect(r.invalidKeys).toEqual(["bad=key"]);
    expect(r.command).toEqual(["echo", "$(K)"]);
    expect(r.args).toEqual(["n1-l"]);
  });

  it("honours optional and names the field of a missing source or key", async () => {
    const c = (env: object[]) => ({ name: "c", env }) as never;
    const ok = await resolveEnv(
      pod,
      c([{ name: "X", valueFrom: { configMapKeyRef: { name: "none", key: "k", optional: true } } }]),
      "spec.containers[0]",
      lookup,
      {},
    );
    expect(ok.env).toEqual([]);
    await expect(
      resolveEnv(
        pod,
        c([{ name: "X", valueFrom: { secretKeyRef: { name: "s", key: "nope" } } }]),
        "spec.containers[1]",
        lookup,
        {},
      ),
    ).rejects.toThrow(
      "spec.containers[1].env[0].valueFrom.secretKeyRef: couldn't find key nope in Secret ns/s",
    );
    await expect(
      resolveEnv(
        pod,
        { name: "c", envFrom: [{ configMapRef: { name: "none" } }] },
        "spec.containers[0]",
        lookup,
        {},
      ),
    ).rejects.toThrow('spec.containers[0].envFrom[0].configMapRef: configmap "none" not found');
    await expect(
      resolveEnv(
        pod,
        c([{ name: "X", valueFrom: { fieldRef: { fieldPath: "spec.bogus" } } }]),
        "spec.containers[0]",
        lookup,
        {},
      ),
    ).rejects.toThrow(
      'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: "spec.bogus" is not a supported field',
    );
  });
});
