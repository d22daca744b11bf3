/**
 * Describe sections several kinds share (foundation/kinds registers each kind's own section):
 * containers with their probes, environment, mounts and state, the pod template, the conditions
 * table, ConfigMap/Secret data and selectors, laid out as kubectl's describers do.
 */

import type {
  Container,
  ContainerState,
  ContainerStatus,
  PodTemplateSpec,
  Probe,
} from "../../proto/gen/api.js";
import { formatSelector, selectorFromLabelSelector } from "../api/labels.js";
import { type DescribeWriter, describeTime } from "./describe-writer.js";

/** A label selector as kubectl prints it, `<none>` when absent. */
export function selectorText(sel: Parameters<typeof selectorFromLabelSelector>[0] | undefined): string {
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

/** The Containers (or Init Containers) section; with `statuses` also their state, readiness and restarts. */
export function containers(
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

/** The Pod Template section of kinds that hold one. */
export function podTemplate(w: DescribeWriter, t: PodTemplateSpec | undefined): void {
  w.section(0, "Pod Template");
  w.map(2, "Labels", t?.metadata?.labels);
  containers(w, 2, "Init Containers", t?.spec?.initContainers);
  containers(w, 2, "Containers", t?.spec?.containers);
  w.field(2, "Volumes", (t?.spec?.volumes ?? []).map((v) => v.name).join("\n"));
}

/** The Conditions table; `withDetail` adds Reason and Message. */
export function conditions(
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

/** The Data section of ConfigMaps and Secrets; Secret values show only their size. */
export function describeData(
  w: DescribeWriter,
  data: Record<string, string> | undefined,
  secret: boolean,
): void {
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
