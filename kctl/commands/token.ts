/**
 * `kctl token create [--ttl 24h]`: makes a bootstrap token for joining nodes and prints it with the
 * full `kctl join` command, including the hash of the cluster CA that the new node must trust.
 * `kctl token list` shows the tokens and when they expire.
 */
import { resourceForKind } from "../../controlplane/api/resources.js";
import {
  bootstrapTokenSecret,
  bootstrapTokenType,
  generateBootstrapToken,
} from "../../controlplane/bootstrap/bootstrap-tokens.js";
import { caCertHash } from "../../controlplane/bootstrap/join-endpoint.js";
import { formatTable } from "../../controlplane/printers/text-table.js";
import type { Command } from "../command.js";
import { UsageError } from "../errors.js";

const secrets = resourceForKind("v1", "Secret")!;

/** `90s`, `15m`, `24h`, `7d`, or `0` (never expires) in seconds. */
export function parseTtl(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text);
  if (!m) throw new UsageError(`--ttl: "${text}" is not a duration like 30m, 24h or 7d (0: never expires)`);
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as "" | "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}

export const tokenCommand: Command = {
  name: "token",
  summary: "Create or list bootstrap tokens for joining nodes",
  usage: ["kctl token create [--ttl 24h] [--description TEXT]", "kctl token list"].join("\n"),
  flags: [
    {
      name: "ttl",
      kind: "string",
      placeholder: "DURATION",
      help: "how long the token works (default 24h; 0: forever)",
    },
    { name: "description", kind: "string", placeholder: "TEXT", help: "a note stored with the token" },
  ],
  async run(ctx) {
    const [verb, ...rest] = ctx.positionals;
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const { client, access } = await ctx.connect();
    if (verb === "create") {
      const token = generateBootstrapToken();
      const description = ctx.flags.string("description");
      const secret = bootstrapTokenSecret({
        token,
        ttlSeconds: parseTtl(ctx.flags.string("ttl") ?? "24h"),
        ...(description ? { description } : {}),
      });
      await client.create(secrets, "kube-system", secret);
      const hash = access.caPem ? ` --ca-cert-hash ${caCertHash(access.caPem)}` : "";
      ctx.io.stdout.write(
        `${token}\n\nOn the new node, as root:\n  kctl join ${access.server} --token ${token}${hash}\n`,
      );
      return 0;
    }
    if (verb === "list") {
      const list = await client.list(secrets, "kube-system");
      const decode = (v: unknown) => Buffer.from(typeof v === "string" ? v : "", "base64").toString();
      const rows = list.items
        .filter((s) => (s as { type?: string }).type === bootstrapTokenType)
        .map((s) => {
          const data = (s as { data?: Record<string, string> }).data ?? {};
          return [decode(data["token-id"]), decode(data.expiration) || "<never>", decode(data.description)];
        });
      ctx.io.stdout.write(
        rows.length
          ? formatTable([["TOKEN-ID", "EXPIRES", "DESCRIPTION"], ...rows])
          : "No bootstrap tokens.\n",
      );
      return 0;
    }
    throw new UsageError(`kctl token: expected "create" or "list"${verb ? `, got "${verb}"` : ""}`);
  },
};
