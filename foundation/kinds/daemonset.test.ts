import { describe, expect, it } from "vitest";
import type { DaemonSet } from "../../proto/gen/api.js";
import { resourceForKind } from "../api/resources.js";
import { applyDefaults, kindFor, validateObject } from "./index.js";

const info = resourceForKind("apps/v1", "DaemonSet")!;

function daemonSet(patch: (ds: DaemonSet) => void = () => {}): DaemonSet {
  const ds: DaemonSet = {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "fluentd", namespace: "kube-system" },
    spec: {
      selector: { matchLabels: { app: "fluentd" } },
      template: {
        metadata: { labels: { app: "fluentd" } },
        spec: { containers: [{ name: "fluentd", image: "fluentd:1" }] },
      },
    },
  };
  patch(ds);
  applyDefaults(info, ds as never);
  return ds;
}

const fields = (ds: DaemonSet, old?: DaemonSet) =>
  validateObject(info, ds as never, old as never).map((c) => `${c.field}: ${c.message}`);

describe("DaemonSet", () => {
  it("defaults as upstream: RollingUpdate 1 unavailable 0 surge, 10 revisions, restartPolicy Always", () => {
    const ds = daemonSet();
    expect(ds.spec?.updateStrategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
    expect(ds.spec?.revisionHistoryLimit).toBe(10);
    expect(ds.spec?.template?.spec?.restartPolicy).toBe("Always");
    expect(fields(ds)).toEqual([]);
  });

  it("has a status subresource and no scale subresource", () => {
    expect(info.subresources).toEqual(["status"]);
    expect(info.shortNames).toEqual(["ds"]);
  });

  const bad: { name: string; patch: (ds: DaemonSet) => void; want: string }[] = [
    {
      name: "a selector that does not match the template labels",
      patch: (ds) => {
        ds.spec!.selector = { matchLabels: { app: "other" } };
      },
      want: "spec.template.metadata.labels: Invalid value",
    },
    {
      name: "a restartPolicy other than Always",
      patch: (ds) => {
        ds.spec!.template!.spec!.restartPolicy = "OnFailure";
      },
      want: "spec.template.spec.restartPolicy: Unsupported value",
    },
    {
      name: "activeDeadlineSeconds in the template",
      patch: (ds) => {
        ds.spec!.template!.spec!.activeDeadlineSeconds = 5;
      },
      want: "spec.template.spec.activeDeadlineSeconds: Forbidden",
    },
    {
      name: "both maxSurge and maxUnavailable non-zero",
      patch: (ds) => {
        ds.spec!.updateStrategy = {
          type: "RollingUpdate",
          rollingUpdate: { maxUnavailable: 1, maxSurge: "10%" },
        };
      },
      want: 'spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: "10%": may not be set when maxUnavailable is non-zero',
    },
    {
      name: "both zero",
      patch: (ds) => {
        ds.spec!.updateStrategy = {
          type: "RollingUpdate",
          rollingUpdate: { maxUnavailable: 0, maxSurge: 0 },
        };
      },
      want: "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0",
    },
    {
      name: "more than 100%",
      patch: (ds) => {
        ds.spec!.updateStrategy = { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "150%" } };
      },
      want: 'spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%',
    },
    {
      name: "an unknown strategy",
      patch: (ds) => {
        ds.spec!.updateStrategy = { type: "Recreate" };
      },
      want: "spec.updateStrategy.type: Unsupported value",
    },
  ];

  it.each(bad)("refuses $name, naming the field", ({ patch, want }) => {
    expect(fields(daemonSet(patch)).join("\n")).toContain(want);
  });

  it("keeps its selector on update", () => {
    const old = daemonSet();
    const next = daemonSet((ds) => {
      ds.spec!.selector = { matchLabels: { app: "fluentd", tier: "x" } };
      ds.spec!.template!.metadata!.labels!.tier = "x";
    });
    expect(fields(next, old).join("\n")).toContain("spec.selector: Invalid value");
  });

  it("prints kubectl's columns", () => {
    const ds = daemonSet((d) => {
      d.spec!.template!.spec!.nodeSelector = { "kubernetes.io/os": "linux", disk: "ssd" };
      d.status = {
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        numberReady: 2,
        updatedNumberScheduled: 1,
        numberAvailable: 2,
      };
    });
    const kind = kindFor(info)!;
    expect(kind.columns!.headers).toEqual([
      "DESIRED",
      "CURRENT",
      "READY",
      "UP-TO-DATE",
      "AVAILABLE",
      "NODE SELECTOR",
      "AGE",
    ]);
    expect(kind.columns!.cells(ds as never, Date.now()).slice(0, 6)).toEqual([
      "3",
      "3",
      "2",
      "1",
      "2",
      "disk=ssd,kubernetes.io/os=linux",
    ]);
    expect(kind.columns!.wideCells!(ds as never, Date.now())).toEqual([
      "fluentd",
      "fluentd:1",
      "app=fluentd",
    ]);
  });
});
