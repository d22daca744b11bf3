import { describe, expect, it } from "vitest";
import { podReferences } from "./pod-references.js";

describe("podReferences", () => {
  const pod = {
    spec: {
      initContainers: [{ env: [{ valueFrom: { secretKeyRef: { name: "init-env" } } }] }],
      containers: [
        {
          env: [
            { valueFrom: { secretKeyRef: { name: "s-env" } } },
            { valueFrom: { configMapKeyRef: { name: "cm-env" } } },
          ],
          envFrom: [{ secretRef: { name: "s-from" } }, { configMapRef: { name: "cm-from" } }],
        },
      ],
      ephemeralContainers: [{ envFrom: [{ secretRef: { name: "debug" } }] }],
      volumes: [
        { secret: { secretName: "s-vol" } },
        { configMap: { name: "cm-vol" } },
        { projected: { sources: [{ secret: { name: "s-proj" } }, { configMap: { name: "cm-proj" } }] } },
      ],
      imagePullSecrets: [{ name: "pull" }],
    },
  };

  it("finds every Secret a pod names, in env, envFrom, volumes and pull secrets", () => {
    expect([...podReferences(pod, "Secret")].sort()).toEqual(
      ["debug", "init-env", "pull", "s-env", "s-from", "s-proj", "s-vol"].sort(),
    );
  });

  it("finds every ConfigMap, and no Secret name passes as a ConfigMap", () => {
    expect([...podReferences(pod, "ConfigMap")].sort()).toEqual(["cm-env", "cm-from", "cm-proj", "cm-vol"]);
  });

  it("finds nothing in a pod without references", () => {
    expect(podReferences({ spec: { containers: [{}] } }, "Secret").size).toBe(0);
    expect(podReferences({}, "ConfigMap").size).toBe(0);
  });
});
