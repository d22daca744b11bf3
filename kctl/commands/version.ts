/** `kctl version`: the client's version (from package.json) and the server's (`GET /version`). */

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "../command.js";
import { formatValue } from "../printers/object-output.js";

interface VersionInfo {
  major?: string;
  minor?: string;
  gitVersion?: string;
  [key: string]: unknown;
}

/** Walks up from this module to the project's package.json (the source tree and dist/ differ in depth). */
function clientVersion(): VersionInfo {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "kctl" && pkg.version) {
        const [major = "0", minor = "0"] = pkg.version.split(".");
        return {
          major,
          minor,
          gitVersion: `v${pkg.version}`,
          platform: `${process.platform}/${process.arch}`,
        };
      }
    } catch {
      // No package.json here; keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) return { gitVersion: "unknown" };
    dir = parent;
  }
}

export const versionCommand: Command = {
  usage: "kctl version [--client] [-o yaml|json]",
  flags: [
    { name: "client", kind: "boolean", help: "only the client version; do not contact the server" },
    {
      name: "output",
      short: "o",
      kind: "string",
      choices: ["yaml", "json"],
      placeholder: "FORMAT",
      help: "yaml or json",
    },
  ],
  async run(ctx) {
    const clientInfo = clientVersion();
    const output = ctx.flags.string("output") as "yaml" | "json" | undefined;
    const result: { clientVersion: VersionInfo; serverVersion?: VersionInfo } = { clientVersion: clientInfo };
    // The client's version is printed before contacting the server, so it shows even when that fails.
    if (!output) ctx.io.stdout.write(`Client Version: ${clientInfo.gitVersion}\n`);
    if (!ctx.flags.bool("client")) {
      const { client } = await ctx.connect();
      result.serverVersion = await client.request<VersionInfo>("GET", "/version");
      if (!output) ctx.io.stdout.write(`Server Version: ${result.serverVersion.gitVersion ?? "unknown"}\n`);
    }
    if (output) ctx.io.stdout.write(formatValue(result, output));
    return 0;
  },
};
