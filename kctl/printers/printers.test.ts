import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../foundation/api/object.js";
import { resolveResourceName } from "../../foundation/api/resources.js";
import { age, humanDuration } from "../../foundation/printers/age.js";
import { headerRow, objectRow, type TableOptions } from "../../foundation/printers/columns.js";
import { podCells } from "../../foundation/printers/pod-status.js";
import { formatTable, TableWriter } from "../../foundation/printers/text-table.js";
import { formatObjects } from "./object-output.js";

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

describe("humanDuration (kubectl's ages)", () => {
  it.each([
    [-5 * s, "<invalid>"],
    [-1 * s, "0s"],
    [0, "0s"],
    [5 * s, "5s"],
    [119 * s, "119s"],
    [2 * m, "2m"],
    [3 * m + 20 * s, "3m20s"],
    [10 * m + 30 * s, "10m"],
    [179 * m, "179m"],
    [3 * h, "3h"],
    [5 * h + 3 * m, "5h3m"],
    [30 * h, "30h"],
    [2 * d, "2d"],
    [3 * d + 4 * h, "3d4h"],
    [120 * d, "120d"],
    [2 * 365 * d + 30 * d, "2y30d"],
    [3 * 365 * d, "3y"],
    [9 * 365 * d, "9y"],
  ])("%d ms → %s", (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it("ages timestamps and says <unknown> for missing ones", () => {
    const now = Date.parse("2026-01-01T00:10:00Z");
    expect(age("2026-01-01T00:00:00Z", now)).toBe("10m");
    expect(age(undefined, now)).toBe("<unknown>");
    expect(age("yesterday", now)).toBe("<unknown>");
  });
});

describe("tables", () => {
  it("aligns columns with three spaces and keeps widths for later rows", () => {
    expect(
      formatTable([
        ["NAME", "AGE"],
        ["a-long-name", "5s"],
      ]),
    ).toBe("NAME          AGE\na-long-name   5s\n");
    let out = "";
    const w = new TableWriter((t) => {
      out += t;
    });
    w.print([
      ["NAME", "STATUS"],
      ["web", "Running"],
    ]);
    w.print([["x", "Pending"]]);
    expect(out).toBe("NAME   STATUS\nweb    Running\nx      Pending\n");
  });
});

const now = Date.parse("2026-01-01T01:00:00Z");
const opts: TableOptions = { now, wide: false, withNamespace: false, withKind: false };
const obj = (
  kind: string,
  rest: Record<string, unknown>,
  metadata: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: "v1",
  kind,
  metadata: { name: "x", namespace: "demo", creationTimestamp: "2026-01-01T00:00:00Z", ...metadata },
  ...rest,
});
const info = (name: string) => resolveResourceName(name)!;
const table = (kind: string, objs: KubeObject[], o: Partial<TableOptions> = {}) =>
  formatTable([
    headerRow(info(kind), { ...opts, ...o }),
    ...objs.map((x) => objectRow(info(kind), x, { ...opts, ...o })),
  ]);

describe("columns per kind", () => {
  it("pods: READY STATUS RESTARTS AGE, wide adds IP NODE NOMINATED NODE READINESS GATES, -A adds NAMESPACE", () => {
    const pod = obj("Pod", {
      spec: { nodeName: "n1", containers: [{ name: "a" }, { name: "b" }] },
      status: {
        phase: "Running",
        podIP: "10.244.1.5",
        containerStatuses: [
          { name: "a", ready: true, restartCount: 0, state: { running: {} } },
          {
            name: "b",
            ready: false,
            restartCount: 3,
            state: { waiting: { reason: "CrashLoopBackOff" } },
            lastState: { terminated: { exitCode: 1, finishedAt: "2026-01-01T00:59:00Z" } },
          },
        ],
      },
    });
    expect(table("po", [pod])).toBe(
      "NAME   READY   STATUS             RESTARTS      AGE\nx      1/2     CrashLoopBackOff   3 (60s ago)   60m\n",
    );
    expect(table("po", [pod], { wide: true, withNamespace: true })).toBe(
      "NAMESPACE   NAME   READY   STATUS             RESTARTS      AGE   IP           NODE   NOMINATED NODE   READINESS GATES\n" +
        "demo        x      1/2     CrashLoopBackOff   3 (60s ago)   60m   10.244.1.5   n1     <none>           <none>\n",
    );
  });

  it("pod status follows kubectl: init containers, terminated reasons, Terminating", () => {
    const base = { spec: { initContainers: [{ name: "i1" }, { name: "i2" }], containers: [{ name: "c" }] } };
    const cells = (status: Record<string, unknown>, metadata: Record<string, unknown> = {}) =>
      podCells(obj("Pod", { ...base, status }, metadata) as never, now).status;
    expect(cells({ phase: "Pending", initContainerStatuses: [{ name: "i1", state: { running: {} } }] })).toBe(
      "Init:0/2",
    );
    expect(
      cells({
        phase: "Pending",
        initContainerStatuses: [
          { name: "i1", state: { terminated: { exitCode: 0 } } },
          { name: "i2", state: { waiting: { reason: "ImagePullBackOff" } } },
        ],
      }),
    ).toBe("Init:ImagePullBackOff");
    expect(
      cells({
        phase: "Running",
        containerStatuses: [{ name: "c", state: { terminated: { exitCode: 137, reason: "OOMKilled" } } }],
      }),
    ).toBe("OOMKilled");
    expect(
      cells({ phase: "Failed", containerStatuses: [{ name: "c", state: { terminated: { exitCode: 2 } } }] }),
    ).toBe("ExitCode:2");
    expect(cells({ phase: "Running" }, { deletionTimestamp: "2026-01-01T00:59:00Z" })).toBe("Terminating");
    expect(cells({})).toBe("Pending");
  });

  it("deployments, replicasets, services, nodes, namespaces, configmaps, secrets, endpoints, leases, events", () => {
    const dep = obj("Deployment", {
      spec: { replicas: 3 },
      status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    });
    expect(table("deploy", [dep])).toBe(
      "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\nx      2/3     3            2           60m\n",
    );
    const rs = obj("ReplicaSet", { spec: { replicas: 2 }, status: { replicas: 2, readyReplicas: 1 } });
    expect(table("rs", [rs])).toBe(
      "NAME   DESIRED   CURRENT   READY   AGE\nx      2         2         1       60m\n",
    );
    const svc = obj("Service", {
      spec: {
        type: "NodePort",
        clusterIP: "10.96.0.10",
        ports: [
          { port: 80, nodePort: 30080, protocol: "TCP" },
          { port: 53, protocol: "UDP" },
        ],
      },
    });
    expect(table("svc", [svc])).toBe(
      "NAME   TYPE       CLUSTER-IP   EXTERNAL-IP   PORT(S)               AGE\nx      NodePort   10.96.0.10   <none>        80:30080/TCP,53/UDP   60m\n",
    );
    const node = obj(
      "Node",
      {
        spec: { unschedulable: true },
        status: { conditions: [{ type: "Ready", status: "True" }], nodeInfo: { kubeletVersion: "v0.1.0" } },
      },
      { namespace: undefined, labels: { "node-role.kubernetes.io/control-plane": "" } },
    );
    expect(table("no", [node], { withNamespace: true })).toBe(
      "NAME   STATUS                     ROLES           AGE   VERSION\nx      Ready,SchedulingDisabled   control-plane   60m   v0.1.0\n",
    );
    expect(table("ns", [obj("Namespace", { status: { phase: "Active" } })])).toBe(
      "NAME   STATUS   AGE\nx      Active   60m\n",
    );
    expect(table("cm", [obj("ConfigMap", { data: { a: "1", b: "2" } })])).toBe(
      "NAME   DATA   AGE\nx      2      60m\n",
    );
    expect(table("secret", [obj("Secret", { type: "Opaque", data: { a: "MQ==" } })])).toBe(
      "NAME   TYPE     DATA   AGE\nx      Opaque   1      60m\n",
    );
    const ep = obj("Endpoints", {
      subsets: [
        {
          addresses: [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }, { ip: "10.0.0.3" }, { ip: "10.0.0.4" }],
          ports: [{ port: 80 }],
        },
      ],
    });
    expect(table("ep", [ep])).toBe(
      "NAME   ENDPOINTS                                         AGE\nx      10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...   60m\n",
    );
    expect(table("leases", [obj("Lease", { spec: { holderIdentity: "cp-1" } })])).toBe(
      "NAME   HOLDER   AGE\nx      cp-1     60m\n",
    );
    const ev = obj("Event", {
      type: "Normal",
      reason: "Scheduled",
      involvedObject: { kind: "Pod", name: "web-1" },
      message: "assigned to n1",
      lastTimestamp: "2026-01-01T00:59:30Z",
    });
    expect(table("ev", [ev])).toBe(
      "LAST SEEN   TYPE     REASON      OBJECT      MESSAGE\n30s         Normal   Scheduled   pod/web-1   assigned to n1\n",
    );
    // -o wide puts the involved object's details after OBJECT and the rest after MESSAGE, as kubectl.
    const wide = obj("Event", {
      type: "Warning",
      reason: "BackOff",
      involvedObject: { kind: "Pod", name: "web-1", fieldPath: "spec.containers{web}" },
      source: { component: "kubelet", host: "n1" },
      message: "back-off",
      firstTimestamp: "2026-01-01T00:50:00Z",
      lastTimestamp: "2026-01-01T00:59:30Z",
      count: 4,
    });
    expect(table("ev", [wide], { wide: true })).toBe(
      "LAST SEEN   TYPE      REASON    OBJECT      SUBOBJECT              SOURCE        MESSAGE    FIRST SEEN   COUNT   NAME\n" +
        "30s         Warning   BackOff   pod/web-1   spec.containers{web}   kubelet, n1   back-off   10m          4       x\n",
    );
  });

  it("prefixes names with the kind when several kinds share the output", () => {
    expect(table("deploy", [obj("Deployment", {})], { withKind: true })).toContain("deployment.apps/x");
  });
});

describe("object output", () => {
  const cm = { info: info("cm"), obj: obj("ConfigMap", { data: { a: "1" } }) };
  it("prints one named object bare and several as a List", () => {
    expect(formatObjects([cm], "yaml", true)).toBe(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: demo\n  creationTimestamp: 2026-01-01T00:00:00Z\ndata:\n  a: "1"\n',
    );
    expect(formatObjects([cm], "yaml", false)).toMatch(
      /^apiVersion: v1\nitems:\n- apiVersion: v1\n {2}kind: ConfigMap\n[\s\S]*kind: List\nmetadata:\n {2}resourceVersion: ""\n$/,
    );
    expect(JSON.parse(formatObjects([cm, cm], "json", false)).items).toHaveLength(2);
    expect(
      formatObjects(
        [cm, { info: info("deploy"), obj: obj("Deployment", {}, { name: "web" }) }],
        "name",
        false,
      ),
    ).toBe("configmap/x\ndeployment.apps/web\n");
  });

  it("leaves out managedFields, as kubectl does by default", () => {
    const managed = { ...cm.obj, metadata: { ...cm.obj.metadata, managedFields: [{ manager: "kctl" }] } };
    const printed = JSON.parse(formatObjects([{ info: cm.info, obj: managed }], "json", true));
    expect(printed.metadata.managedFields).toBeUndefined();
    expect(printed.metadata.name).toBe("x");
  });
});
