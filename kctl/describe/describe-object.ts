/**
 * What `kctl describe` shows per kind, after kubectl's describers: metadata, the spec's highlights,
 * status and conditions, and the object's Events at the end. Kinds without their own section show
 * their remaining fields as YAML.
 */

import { stringify } from "yaml";
import { formatSelector, selectorFromLabelSelector } from "../../controlplane/api/labels.js";
import type { KubeObject } from "../../controlplane/api/object.js";
import type { ResourceInfo } from "../../controlplane/api/resources.js";
import { humanDuration } from "../../controlplane/printers/age.js";
import { eventTime } from "../../controlplane/printers/columns.js";
import { DescribeWriter, describeTime } from "../../controlplane/printers/describe-writer.js";
import type {
  ConfigMap,
  Container,
  ContainerState,
  ContainerStatus,
  Deployment,
  Endpoints,
  Event,
  Namespace,
  Node,
  Pod,
  PodTemplateSpec,
  Probe,
  ReplicaSet,
  Secret,
  Service,
} from "../../proto/gen/api.js";
import { lastAppliedAnnotation } from "../apply-patch.js";

export interface DescribeInput {
  info: ResourceInfo;
  obj: KubeObject;
  /** Events whose involvedObject is `obj`. */
  events: readonly Event[];
  /** For a Service: its Endpoints object, when there is one. */
  endpoints?: Endpoints;
  now: number;
}

function meta(w: DescribeWriter, obj: KubeObject, info: ResourceInfo): void {
  w.field(0, "Name", obj.metadata.name);
  if (info.namespaced) w.field(0, "Namespace", obj.metadata.namespace);
  w.map(0, "Labels", obj.metadata.labels);
  // Like kubectl, the last-applied annotation is left out: it repeats the whole manifest.
  const { [lastAppliedAnnotation]: _applied, ...annotations } = obj.metadata.annotations ?? {};
  w.map(0, "Annotations", annotations, ": ");
  w.field(0, "CreationTimestamp", describeTime(obj.metadata.creationTimestamp));
  const owner = obj.metadata.ownerReferences?.find((o) => o.controller);
  if (owner) w.field(0, "Controlled By", `${owner.kind}/${owner.name}`);
  if (obj.metadata.deletionTimestamp)
    w.field(0, "Deletion Requested", describeTime(obj.metadata.deletionTimestamp));
}

function selectorText(sel: Parameters<typeof selectorFromLabelSelector>[0] | undefined): string {
  if (!sel) return "<none>";
  try {
    return formatSelector(selectorFromLabelSelector(sel)) || "<none>";
  } catch {
    return JSON.stringify(sel);
  }
}

function probeText(p: Probe): string {
  const how = p.httpGet
    ? `http-get ${p.httpGet.scheme === "HTTPS" ? "https" : "http"}://${p.httpGet.host ?? ""}:${p.httpGet.port}${p.httpGet.path ?? "/"}`
    : p.tcpSocket
      ? `tcp-socket :${p.tcpSocket.port}`
      : p.exec
        ? `exec [${(p.exec.command ?? []).join(" ")}]`
        : "unknown";
  return `${how} delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds ?? 1}s period=${p.periodSeconds ?? 10}s #success=${p.successThreshold ?? 1} #failure=${p.failureThreshold ?? 3}`;
}

function stateLines(w: DescribeWriter, indent: number, label: string, s: ContainerState | undefined): void {
  if (s?.running) {
    w.field(indent, label, "Running");
    w.field(indent + 2, "Started", describeTime(s.running.startedAt));
  } else if (s?.waiting) {
    w.field(indent, label, "Waiting");
    w.field(indent + 2, "Reason", s.waiting.reason);
    if (s.waiting.message) w.field(indent + 2, "Message", s.waiting.message);
  } else if (s?.terminated) {
    const t = s.terminated;
    w.field(indent, label, "Terminated");
    w.field(indent + 2, "Reason", t.reason);
    if (t.message) w.field(indent + 2, "Message", t.message);
    w.field(indent + 2, "Exit Code", t.exitCode ?? 0);
    if (t.signal) w.field(indent + 2, "Signal", t.signal);
    w.field(indent + 2, "Started", describeTime(t.startedAt));
    w.field(indent + 2, "Finished", describeTime(t.finishedAt));
  } else {
    w.field(indent, label, label === "State" ? "Waiting" : undefined);
  }
}

function containers(
  w: DescribeWriter,
  indent: number,
  label: string,
  list: readonly Container[] | undefined,
  statuses?: readonly ContainerStatus[],
): void {
  if (!list || list.length === 0) {
    if (label === "Containers") w.field(indent, label, "<none>");
    return;
  }
  w.section(indent, label);
  const i2 = indent + 2;
  const i4 = indent + 4;
  for (const c of list) {
    const st = statuses?.find((s) => s.name === c.name);
    w.section(i2, c.name ?? "");
    if (st?.containerID) w.field(i4, "Container ID", st.containerID);
    w.field(i4, "Image", c.image);
    if (st?.imageID) w.field(i4, "Image ID", st.imageID);
    const ports = (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? "TCP"}`).join(", ");
    w.field(i4, "Port", ports || "<none>");
    if (c.command?.length) w.field(i4, "Command", c.command.join("\n"));
    if (c.args?.length) w.field(i4, "Args", c.args.join("\n"));
    if (statuses) {
      stateLines(w, i4, "State", st?.state);
      if (st?.lastState && Object.keys(st.lastState).length > 0)
        stateLines(w, i4, "Last State", st.lastState);
      w.field(i4, "Ready", st?.ready ? "True" : "False");
      w.field(i4, "Restart Count", st?.restartCount ?? 0);
    }
    if (c.resources?.limits) w.map(i4, "Limits", c.resources.limits, ": ");
    if (c.resources?.requests) w.map(i4, "Requests", c.resources.requests, ": ");
    if (c.livenessProbe) w.field(i4, "Liveness", probeText(c.livenessProbe));
    if (c.readinessProbe) w.field(i4, "Readiness", probeText(c.readinessProbe));
    if (c.startupProbe) w.field(i4, "Startup", probeText(c.startupProbe));
    const env = (c.env ?? []).map((e) => {
      const from = e.valueFrom;
      if (from?.configMapKeyRef)
        return `${e.name}:  <set to the key '${from.configMapKeyRef.key}' of config map '${from.configMapKeyRef.name}'>`;
      if (from?.secretKeyRef)
        return `${e.name}:  <set to the key '${from.secretKeyRef.key}' in secret '${from.secretKeyRef.name}'>`;
      if (from?.fieldRef)
        return `${e.name}:  (${from.fieldRef.apiVersion ?? "v1"}:${from.fieldRef.fieldPath})`;
      return `${e.name}:  ${e.value ?? ""}`;
    });
    w.field(i4, "Environment", env.join("\n"));
    const mounts = (c.volumeMounts ?? []).map(
      (m) => `${m.mountPath} from ${m.name} (${m.readOnly ? "ro" : "rw"})`,
    );
    w.field(i4, "Mounts", mounts.join("\n"));
  }
}

function podTemplate(w: DescribeWriter, t: PodTemplateSpec | undefined): void {
  w.section(0, "Pod Template");
  w.map(2, "Labels", t?.metadata?.labels);
  containers(w, 2, "Init Containers", t?.spec?.initContainers);
  containers(w, 2, "Containers", t?.spec?.containers);
  w.field(2, "Volumes", (t?.spec?.volumes ?? []).map((v) => v.name).join("\n"));
}

function conditions(
  w: DescribeWriter,
  list: readonly { type?: string; status?: string; reason?: string; message?: string }[] | undefined,
  withDetail: boolean,
): void {
  const header = withDetail ? ["Type", "Status", "Reason", "Message"] : ["Type", "Status"];
  const rows = (list ?? []).map((c) =>
    withDetail
      ? [c.type ?? "", c.status ?? "", c.reason ?? "", c.message ?? ""]
      : [c.type ?? "", c.status ?? ""],
  );
  w.table(0, "Conditions", header, rows);
}

function describePod(w: DescribeWriter, pod: Pod): void {
  const s = pod.status ?? {};
  w.field(0, "Node", pod.spec?.nodeName ? `${pod.spec.nodeName}${s.hostIP ? `/${s.hostIP}` : ""}` : "<none>");
  w.field(0, "Start Time", s.startTime ? describeTime(s.startTime) : undefined);
  w.field(0, "Status", pod.metadata.deletionTimestamp ? "Terminating" : (s.phase ?? "Pending"));
  if (s.reason) w.field(0, "Reason", s.reason);
  if (s.message) w.field(0, "Message", s.message);
  w.field(0, "IP", s.podIP);
  containers(w, 0, "Init Containers", pod.spec?.initContainers, s.initContainerStatuses ?? []);
  containers(w, 0, "Containers", pod.spec?.containers, s.containerStatuses ?? []);
  conditions(w, s.conditions, false);
  w.field(
    0,
    "Volumes",
    (pod.spec?.volumes ?? [])
      .map(
        (v) =>
          `${v.name}: ${Object.keys(v)
            .filter((k) => k !== "name")
            .join(",")}`,
      )
      .join("\n"),
  );
  w.map(0, "Node-Selectors", pod.spec?.nodeSelector);
  const tolerations = (pod.spec?.tolerations ?? []).map(
    (t) =>
      `${t.key ?? ""}${t.operator === "Exists" ? "" : `=${t.value ?? ""}`}${t.effect ? `:${t.effect}` : ""}${t.tolerationSeconds !== undefined ? ` for ${t.tolerationSeconds}s` : ""}`,
  );
  w.field(0, "Tolerations", tolerations.join("\n"));
}

function describeDeployment(w: DescribeWriter, d: Deployment): void {
  const s = d.status ?? {};
  w.field(0, "Selector", selectorText(d.spec?.selector));
  const desired = d.spec?.replicas ?? 1;
  w.field(
    0,
    "Replicas",
    `${desired} desired | ${s.updatedReplicas ?? 0} updated | ${s.replicas ?? 0} total | ${s.availableReplicas ?? 0} available | ${s.unavailableReplicas ?? 0} unavailable`,
  );
  const strategy = d.spec?.strategy?.type ?? "RollingUpdate";
  w.field(0, "StrategyType", strategy);
  w.field(0, "MinReadySeconds", d.spec?.minReadySeconds ?? 0);
  if (strategy === "RollingUpdate") {
    const ru = d.spec?.strategy?.rollingUpdate;
    w.field(
      0,
      "RollingUpdateStrategy",
      `${ru?.maxUnavailable ?? "25%"} max unavailable, ${ru?.maxSurge ?? "25%"} max surge`,
    );
  }
  podTemplate(w, d.spec?.template);
  conditions(w, s.conditions, true);
}

function describeReplicaSet(w: DescribeWriter, rs: ReplicaSet): void {
  w.field(0, "Selector", selectorText(rs.spec?.selector));
  w.field(0, "Replicas", `${rs.status?.replicas ?? 0} current / ${rs.spec?.replicas ?? 1} desired`);
  w.field(
    0,
    "Pods Status",
    `${rs.status?.readyReplicas ?? 0} Ready / ${rs.status?.availableReplicas ?? 0} Available`,
  );
  podTemplate(w, rs.spec?.template);
  conditions(w, rs.status?.conditions, true);
}

function describeService(w: DescribeWriter, svc: Service, endpoints: Endpoints | undefined): void {
  w.map(0, "Selector", svc.spec?.selector);
  w.field(0, "Type", svc.spec?.type ?? "ClusterIP");
  w.field(0, "IP", svc.spec?.clusterIP);
  w.field(0, "Session Affinity", svc.spec?.sessionAffinity ?? "None");
  const addrs = (endpoints?.subsets ?? []).flatMap((s) =>
    (s.addresses ?? []).flatMap((a) =>
      (s.ports?.length ? s.ports : [{ port: undefined }]).map((p) =>
        p.port ? `${a.ip}:${p.port}` : `${a.ip}`,
      ),
    ),
  );
  for (const p of svc.spec?.ports ?? []) {
    w.field(0, "Port", `${p.name || "<unset>"}  ${p.port}/${p.protocol ?? "TCP"}`);
    w.field(0, "TargetPort", `${p.targetPort ?? p.port}/${p.protocol ?? "TCP"}`);
    if (p.nodePort) w.field(0, "NodePort", `${p.name || "<unset>"}  ${p.nodePort}/${p.protocol ?? "TCP"}`);
  }
  w.field(0, "Endpoints", addrs.join(","));
}

function describeNode(w: DescribeWriter, node: Node): void {
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((k) => k.startsWith("node-role.kubernetes.io/"))
    .map((k) => k.split("/")[1]);
  w.field(0, "Roles", roles.join(","));
  w.field(
    0,
    "Taints",
    (node.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`).join("\n"),
  );
  w.field(0, "Unschedulable", node.spec?.unschedulable ? "true" : "false");
  conditions(w, node.status?.conditions, true);
  w.field(0, "Addresses", (node.status?.addresses ?? []).map((a) => `${a.type}: ${a.address}`).join("\n"));
  w.map(0, "Capacity", node.status?.capacity, ": ");
  w.map(0, "Allocatable", node.status?.allocatable, ": ");
  const info = node.status?.nodeInfo;
  if (info) {
    w.section(0, "System Info");
    w.field(2, "Kernel Version", info.kernelVersion);
    w.field(2, "OS Image", info.osImage);
    w.field(2, "Operating System", info.operatingSystem);
    w.field(2, "Architecture", info.architecture);
    w.field(2, "Container Runtime Version", info.containerRuntimeVersion);
    w.field(2, "Kubelet Version", info.kubeletVersion);
  }
  w.field(0, "PodCIDR", node.spec?.podCIDR);
}

function describeData(w: DescribeWriter, data: Record<string, string> | undefined, secret: boolean): void {
  w.text(0, "Data");
  w.text(0, "====");
  for (const [k, v] of Object.entries(data ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (secret) {
      w.field(0, k, `${Buffer.from(v, "base64").length} bytes`);
    } else {
      w.text(0, `${k}:`);
      w.text(0, "----");
      w.text(0, v);
    }
  }
}

function describeEndpoints(w: DescribeWriter, ep: Endpoints): void {
  w.section(0, "Subsets");
  for (const s of ep.subsets ?? []) {
    w.field(2, "Addresses", (s.addresses ?? []).map((a) => a.ip).join(","));
    w.field(2, "NotReadyAddresses", (s.notReadyAddresses ?? []).map((a) => a.ip).join(","));
    w.table(
      2,
      "Ports",
      ["Name", "Port", "Protocol"],
      (s.ports ?? []).map((p) => [p.name || "<unset>", String(p.port), p.protocol ?? "TCP"]),
    );
  }
}

function describeRest(w: DescribeWriter, obj: KubeObject): void {
  const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = obj;
  if (Object.keys(rest).length === 0) return;
  for (const line of stringify(rest, { indentSeq: false }).trimEnd().split("\n")) w.text(0, line);
}

function events(w: DescribeWriter, list: readonly Event[], now: number): void {
  const sorted = [...list].sort(
    (a, b) => (Date.parse(eventTime(a) ?? "") || 0) - (Date.parse(eventTime(b) ?? "") || 0),
  );
  const ageOf = (e: Event) => {
    const last = humanDuration(now - (Date.parse(eventTime(e) ?? "") || now));
    const first = e.firstTimestamp ? humanDuration(now - Date.parse(e.firstTimestamp)) : undefined;
    return (e.count ?? 1) > 1 && first ? `${last} (x${e.count} over ${first})` : last;
  };
  w.table(
    0,
    "Events",
    ["Type", "Reason", "Age", "From", "Message"],
    sorted.map((e) => [
      e.type ?? "",
      e.reason ?? "",
      ageOf(e),
      e.source?.component ?? e.reportingComponent ?? "",
      (e.message ?? "").trim(),
    ]),
    ["----", "------", "----", "----", "-------"],
  );
}

/** The full description of one object. */
export function describeObject(input: DescribeInput): string {
  const { info, obj } = input;
  const w = new DescribeWriter();
  meta(w, obj, info);
  switch (info.kind) {
    case "Pod":
      describePod(w, obj as unknown as Pod);
      break;
    case "Deployment":
      describeDeployment(w, obj as unknown as Deployment);
      break;
    case "ReplicaSet":
      describeReplicaSet(w, obj as unknown as ReplicaSet);
      break;
    case "Service":
      describeService(w, obj as unknown as Service, input.endpoints);
      break;
    case "Node":
      describeNode(w, obj as unknown as Node);
      break;
    case "Namespace":
      w.field(0, "Status", (obj as unknown as Namespace).status?.phase ?? "Active");
      break;
    case "ConfigMap":
      describeData(w, (obj as unknown as ConfigMap).data, false);
      break;
    case "Secret":
      w.field(0, "Type", (obj as unknown as Secret).type ?? "Opaque");
      describeData(w, (obj as unknown as Secret).data, true);
      break;
    case "Endpoints":
      describeEndpoints(w, obj as unknown as Endpoints);
      break;
    default:
      describeRest(w, obj);
  }
  events(w, input.events, input.now);
  return w.toString();
}
