/**
 * `kctl api-resources`: the resource types the server serves, read from its discovery endpoints
 * (/api/v1, /apis, /apis/GROUP/VERSION) like kubectl; when the server cannot be reached, the
 * client's own resource table, with a warning.
 */

import { resources } from "../../foundation/api/resources.js";
import { formatTable } from "../../foundation/printers/text-table.js";
import type { ApiClient } from "../client.js";
import type { Command } from "../command.js";
import { CliError, errorLines } from "../errors.js";

interface Row {
  name: string;
  shortNames: string;
  apiVersion: string;
  namespaced: boolean;
  kind: string;
  group: string;
}

interface APIResource {
  name: string;
  namespaced: boolean;
  kind: string;
  shortNames?: string[];
}

async function discover(client: ApiClient): Promise<Row[]> {
  const groupVersions: { group: string; groupVersion: string }[] = [];
  const core = await client.request<{ versions?: string[] }>("GET", "/api");
  for (const v of core.versions ?? []) groupVersions.push({ group: "", groupVersion: v });
  const groups = await client.request<{
    groups?: {
      name: string;
      preferredVersion?: { groupVersion: string };
      versions?: { groupVersion: string }[];
    }[];
  }>("GET", "/apis");
  for (const g of groups.groups ?? []) {
    const gv = g.preferredVersion?.groupVersion ?? g.versions?.[0]?.groupVersion;
    if (gv) groupVersions.push({ group: g.name, groupVersion: gv });
  }
  const rows: Row[] = [];
  for (const { group, groupVersion } of groupVersions) {
    const path = group ? `/apis/${groupVersion}` : `/api/${groupVersion}`;
    const list = await client.request<{ resources?: APIResource[] }>("GET", path);
    for (const r of list.resources ?? []) {
      if (r.name.includes("/")) continue;
      rows.push({
        name: r.name,
        shortNames: (r.shortNames ?? []).join(","),
        apiVersion: groupVersion,
        namespaced: r.namespaced,
        kind: r.kind,
        group,
      });
    }
  }
  return rows;
}

function fromTable(): Row[] {
  return resources.map((r) => ({
    name: r.plural,
    shortNames: r.shortNames.join(","),
    apiVersion: r.group ? `${r.group}/${r.version}` : r.version,
    namespaced: r.namespaced,
    kind: r.kind,
    group: r.group,
  }));
}

export const apiResourcesCommand: Command = {
  usage: "kctl api-resources [-o name]",
  flags: [
    {
      name: "output",
      short: "o",
      kind: "string",
      choices: ["name", "wide"],
      placeholder: "FORMAT",
      help: "name: only the names",
    },
  ],
  async run(ctx) {
    let rows: Row[];
    try {
      const { client } = await ctx.connect();
      rows = await discover(client);
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      for (const line of errorLines(err)) ctx.io.stderr.write(`${line}\n`);
      ctx.io.stderr.write("warning: showing the resource types this kctl knows, not the server's\n");
      rows = fromTable();
    }
    // kubectl's order: by group (core first), then by name.
    rows.sort((a, b) => a.group.localeCompare(b.group) || a.name.localeCompare(b.name));
    if (ctx.flags.string("output") === "name") {
      for (const r of rows) ctx.io.stdout.write(`${r.group ? `${r.name}.${r.group}` : r.name}\n`);
      return 0;
    }
    ctx.io.stdout.write(
      formatTable([
        ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
        ...rows.map((r) => [r.name, r.shortNames, r.apiVersion, String(r.namespaced), r.kind]),
      ]),
    );
    return 0;
  },
};
