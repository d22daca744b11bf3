import { describe, expect, it } from "vitest";
import type { Pod } from "../../proto/gen/api.js";
import { EnvError, expand, resolveEnv } from "./env.js";
import type { ObjectLookup } from "./object-lookup.js";

const lookup: ObjectLookup = {
  configMap: async (_ns, name) =>
    name === "cfg"
      ? { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { A: "1", B: "2" } }
      : undefined,
  secret: async (_ns, name) =>
    name === "sec"
      ? {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name },
          data: { pw: Buffer.from("s3cr3t").toString("base64") },
        }
      : undefined,
};

const pod: Pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "ns", uid: "u", labels: { app: "web" } },
  spec: { nodeName: "n1", containers: [] },
};

describe("expand", () => {
  it("expands known variables, keeps unknown ones and unescapes $$", () => {
    const vars = new Map([["A", "x"]]);
    expect(expand("$(A)-$(B)-$$(A)-$$", vars)).toBe("x-$(B)-$(A)-$");
  });
});

describe("resolveEnv", () => {
  it("applies envFrom, then env in order with valueFrom and expansion in command and args", async () => {
    const res = await resolveEnv(
      pod,
      {
        name: "c",
        envFrom: [{ prefix: "CFG_", configMapRef: { name: "cfg" } }],
        env: [
          { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: "PW", valueFrom: { secretKeyRef: { name: "sec", key: "pw" } } },
          { name: "URL", value: "http://$(POD):$(CFG_A)" },
          { name: "GONE", valueFrom: { configMapKeyRef: { name: "missing", key: "k", optional: true } } },
        ],
        command: ["echo", "$(URL)"],
        args: ["$(PW)", "$(NOPE)"],
      },
      lookup,
      { podIP: "10.244.0.5", hostIP: "10.0.0.1" },
    );
    expect(Object.fromEntries(res.env)).toEqual({
      CFG_A: "1",
      CFG_B: "2",
      POD: "p",
      APP: "web",
      PW: "s3cr3t",
      URL: "http://p:1",
    });
    expect(res.command).toEqual(["echo", "http://p:1"]);
    expect(res.args).toEqual(["s3cr3t", "$(NOPE)"]);
  });

  it("names a missing source that is not optional", async () => {
    await expect(
      resolveEnv(
        pod,
        { name: "c", env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "cfg", key: "nope" } } }] },
        lookup,
        {
          podIP: "",
          hostIP: "",
        },
      ),
    ).rejects.toThrow(new EnvError('env[0] X: key "nope" not in configmap "cfg"'));
    await expect(
      resolveEnv(pod, { name: "c", envFrom: [{ secretRef: { name: "nosec" } }] }, lookup, {
        podIP: "",
        hostIP: "",
      }),
    ).rejects.toThrow(/envFrom\[0\]: secret "nosec" not found/);
  });
});
