/**
 * `kctl top pod|node`: usage from metrics.k8s.io, printed as `kubectl top` prints it (CPU in
 * millicores, memory in MiB, a node's share of its allocatable), so scripts reading either work.
 */
import { isApiError } from "../../foundation/api/errors.js";
import { quantityMilliValue, quantityValue } from "../../foundation/api/quantity.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import type { ApiClient, ObjectList } from "../client.js";
import type { Command } from "../command.js";
import { allNamespacesFlag, namespaceFlag, selectorFlag } from "../common-flags.js";
import { CliError, UsageError } from "../errors.js";
import { namespaceFlagValue, podNameArg, selectorFlagValue } from "../targets.js";

const metricsPath = "/apis/metrics.k8s.io/v1beta1";

interface Usage {
  cpu?: string;
  memory?: string;
}

export interface PodMetrics {
  metadata: { name?: string; namespace?: string };
  containers?: { name: string; usage?: Usage }[];
}

export interface NodeMetrics {
  metadata: { name?: string };
  usage?: Usage;
}

export interface NodeCapacity {
  name: string;
  allocatable: Usage;
}

const milli = (q: string | undefined) => (q ? quantityMilliValue(q) : 0);
/** Summed as nanocores, rounded up to millicores once, as kubectl adds Quantities then asks MilliValue. */
const nano = (q: string | undefined) => (q ? Math.round(quantityValue(q) * 1e9) : 0);
const bytes = (q: string | undefined) => (q ? quantityValue(q) : 0);
const cpuCell = (m: number) => `${m}m`;
const memoryCell = (b: number) => `${Math.floor(b / (1024 * 1024))}Mi`;

/** `kubectl top pod`'s table: one row per pod (its containers summed), or per container. */
export function podRows(items: readonly PodMetrics[], o: { allNamespaces: boolean; containers: boolean }) {
  const header = [
    ...(o.allNamespaces ? ["NAMESPACE"] : []),
    ...(o.containers ? ["POD", "NAME"] : ["NAME"]),
    "CPU(cores)",
    "MEMORY(bytes)",
  ];
  const rows: string[][] = [header];
  // kubectl sorts the rows by namespace and name when no --sort-by is given.
  for (const p of [...items].sort(byName)) {
    const lead = o.allNamespaces ? [p.metadata.namespace ?? ""] : [];
    const cs = p.containers ?? [];
    if (o.containers) {
      for (const c of cs) {
        rows.push([
          ...lead,
          p.metadata.name ?? "",
          c.name,
          cpuCell(milli(c.usage?.cpu)),
          memoryCell(bytes(c.usage?.memory)),
        ]);
      }
      continue;
    }
    const cpu = Math.ceil(cs.reduce((sum, c) => sum + nano(c.usage?.cpu), 0) / 1e6);
    const memory = cs.reduce((sum, c) => sum + bytes(c.usage?.memory), 0);
    rows.push([...lead, p.metadata.name ?? "", cpuCell(cpu), memoryCell(memory)]);
  }
  return rows;
}

/** `kubectl top node`'s table: usage and its share of allocatable; nodes without metrics as <unknown>. */
export function nodeRows(nodes: readonly NodeCapacity[], metrics: readonly NodeMetrics[]) {
  const rows: string[][] = [["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]];
  const percent = (used: number, total: number) =>
    total > 0 ? `${Math.floor((used * 100) / total)}%` : "<unknown>";
  for (const n of [...nodes].sort((a, b) => a.name.localeCompare(b.name))) {
    const m = metrics.find((x) => x.metadata.name === n.name);
    if (!m?.usage) {
      rows.push([n.name, "<unknown>", "<unknown>", "<unknown>", "<unknown>"]);
      continue;
    }
    const cpu = milli(m.usage.cpu);
    const memory = bytes(m.usage.memory);
    rows.push([
      n.name,
      cpuCell(cpu),
      percent(cpu, milli(n.allocatable.cpu)),
      memoryCell(memory),
      percent(memory, bytes(n.allocatable.memory)),
    ]);
  }
  return rows;
}

/**
 * The table as kubectl top writes it: every cell, the last one too, ends in a tab that its
 * tabwriter turns into padding to the column's width plus 3.
 */
export function formatTopTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((r) => `${r.map((cell, i) => cell.padEnd((widths[i] ?? 0) + 3)).join("")}\n`).join("");
}

const byName = <T extends { metadata: { name?: string; namespace?: string } }>(a: T, b: T) =>
  (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") ||
  (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");

async function metricsGet<T>(client: ApiClient, path: string, query: Record<string, string | undefined>) {
  try {
    return await client.request<T>("GET", `${metricsPath}${path}`, { query });
  } catch (err) {
    // The group itself missing answers 404 without a resource name: kubectl's wording then.
    if (isApiError(err, "NotFound") && !/metrics\.k8s\.io "/.test(err.message)) {
      throw new CliError("Metrics API not available");
    }
    throw err;
  }
}

export const topCommand: Command = {
  usage: "kctl top pod [NAME] [-n NS | -A] [-l SELECTOR] [--containers] | kctl top node [NAME] [-l SELECTOR]",
  flags: [
    namespaceFlag,
    allNamespacesFlag,
    selectorFlag,
    { name: "containers", kind: "boolean", help: "top pod: one row per container" },
  ],
  async run(ctx) {
    const [what, name, ...rest] = ctx.positionals;
    if (rest.length) throw new UsageError("kctl top takes a resource (pod or node) and at most one name");
    const selector = selectorFlagValue(ctx.flags);
    const { client, access } = await ctx.connect();
    if (what === "pod" || what === "pods" || what === "po") {
      const all = ctx.flags.bool("all-namespaces");
      const ns = namespaceFlagValue(ctx.flags, access.namespace);
      const scope = all ? "" : `/namespaces/${encodeURIComponent(ns)}`;
      const items = name
        ? [await metricsGet<PodMetrics>(client, `${scope}/pods/${encodeURIComponent(podNameArg(name))}`, {})]
        : (await metricsGet<{ items: PodMetrics[] }>(client, `${scope}/pods`, { labelSelector: selector }))
            .items;
      if (items.length === 0) {
        ctx.io.stderr.write(all ? "No resources found\n" : `No resources found in ${ns} namespace.\n`);
        return 0;
      }
      ctx.io.stdout.write(
        formatTopTable(podRows(items, { allNamespaces: all, containers: ctx.flags.bool("containers") })),
      );
      return 0;
    }
    if (what === "node" || what === "nodes" || what === "no") {
      const nodeInfo = resourceForKind("v1", "Node")!;
      const nodes = name
        ? [await client.get(nodeInfo, undefined, name)]
        : (await client.list(nodeInfo, undefined, selector ? { labelSelector: selector } : {})).items;
      const metrics = name
        ? [await metricsGet<NodeMetrics>(client, `/nodes/${encodeURIComponent(name)}`, {})]
        : (
            await metricsGet<ObjectList & { items: NodeMetrics[] }>(client, "/nodes", {
              labelSelector: selector,
            })
          ).items;
      const capacity = nodes.map((n) => ({
        name: n.metadata.name ?? "",
        allocatable: ((n as { status?: { allocatable?: Usage } }).status?.allocatable ?? {}) as Usage,
      }));
      ctx.io.stdout.write(formatTopTable(nodeRows(capacity, metrics)));
      return 0;
    }
    throw new UsageError(`kctl top: the resource must be pod or node, not ${what ? `"${what}"` : "missing"}`);
  },
};
