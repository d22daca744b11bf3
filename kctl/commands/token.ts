/**
 * `kctl token create [--ttl 24h] [--max-uses N]`: makes a bootstrap token for joining nodes and
 * prints it with the full `kctl join` command, including the hash of the cluster CA that the new
 * node must trust. Every token expires (`--ttl 0` is refused). `kctl token list` shows the tokens,
 * when they expire and how many uses they have left; `kctl token delete ID` revokes one.
 */
import { resourceForKind } from "../../foundation/api/resources.js";
import { caCertHash } from "../../foundation/bootstrap/join-protocol.js";
import {
  bootstrapTokenSecret,
  describeBootstrapTokens,
  generateBootstrapToken,
} from "../../foundation/bootstrap/token-format.js";
import { formatTable } from "../../foundation/printers/text-table.js";
import type { Command } from "../command.js";
import { UsageError } from "../errors.js";

const secrets = resourceForKind("v1", "Secret")!;

/** `90s`, `15m`, `24h`, `7d` in seconds; 0 and other forms are refused. */
export function parseTtl(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text);
  if (!m) throw new UsageError(`--ttl: "${text}" is not a duration like 30m, 24h or 7d`);
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as "" | "s" | "m" | "h" | "d"];
  const seconds = Number(m[1]) * unit;
  if (seconds === 0) throw new UsageError("--ttl: a bootstrap token must expire; give a duration like 24h");
  return seconds;
}

function parseMaxUses(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`--max-uses: "${text}" is not a positive whole number`);
  return Number(text);
}

export const tokenCommand: Command = {
  usage: [
    "kctl token create [--ttl 24h] [--max-uses N] [--description TEXT] [--control-plane]",
    "kctl token list",
    "kctl token delete TOKEN-ID",
  ].join("\n"),
  flags: [
    {
      name: "ttl",
      kind: "string",
      placeholder: "DURATION",
      help: "how long the token works (default 24h; it always expires)",
    },
    {
      name: "max-uses",
      kind: "string",
      placeholder: "N",
      help: "how many nodes may join with it (default: any)",
    },
    { name: "description", kind: "string", placeholder: "TEXT", help: "a note stored with the token" },
    {
      name: "control-plane",
      kind: "boolean",
      help: "the token may also join control planes, which get the cluster's CA keys (default --ttl 2h)",
    },
  ],
  async run(ctx) {
    const [verb, ...rest] = ctx.positionals;
    if (verb === "delete") {
      const [id, ...extra] = rest;
      if (!id || extra.length)
        throw new UsageError("kctl token delete takes one TOKEN-ID (kctl token list shows them)");
      // Accept the whole token too, so a leaked one can be revoked by pasting it.
      const tokenId = id.split(".")[0]!;
      if (!/^[a-z0-9]{6}$/.test(tokenId))
        throw new UsageError(`TOKEN-ID: "${id}" is not a token id like abcdef`);
      const { client } = await ctx.connect();
      await client.delete(secrets, "kube-system", `bootstrap-token-${tokenId}`);
      ctx.io.stdout.write(`bootstrap token "${tokenId}" deleted\n`);
      return 0;
    }
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (verb === "create") {
      const controlPlane = ctx.flags.bool("control-plane");
      // A control-plane token hands out the CA keys: short-lived by default, as kubeadm's certificate key.
      const ttlSeconds = parseTtl(ctx.flags.string("ttl") ?? (controlPlane ? "2h" : "24h"));
      const maxUses = parseMaxUses(ctx.flags.string("max-uses"));
      const { client, access } = await ctx.connect();
      const token = generateBootstrapToken();
      const description = ctx.flags.string("description");
      const secret = bootstrapTokenSecret({
        token,
        ttlSeconds,
        ...(maxUses !== undefined ? { maxUses } : {}),
        ...(description ? { description } : {}),
        ...(controlPlane ? { controlPlane } : {}),
      });
      await client.create(secrets, "kube-system", secret);
      const hash = access.caPem ? ` --ca-cert-hash ${caCertHash(access.caPem)}` : "";
      ctx.io.stdout.write(
        `${token}\n\nOn the new node, as root:\n  KCTL_TOKEN=${token} kctl join ${access.server}${hash}\n`,
      );
      if (controlPlane) {
        ctx.io.stdout.write(
          `\nOn a new control plane, as root:\n  KCTL_TOKEN=${token} kctl up --join-control-plane ${access.server}${hash} --advertise-address THIS-HOST-IP\n`,
        );
      }
      return 0;
    }
    if (verb === "list") {
      const { client } = await ctx.connect();
      const list = await client.list(secrets, "kube-system");
      const rows = describeBootstrapTokens(list.items).map((t) => [
        t.id,
        t.expiration || "<expired: no expiration>",
        t.usesRemaining === undefined ? "<unlimited>" : String(t.usesRemaining),
        t.description,
      ]);
      ctx.io.stdout.write(
        rows.length
          ? formatTable([["TOKEN-ID", "EXPIRES", "USES-LEFT", "DESCRIPTION"], ...rows])
          : "No bootstrap tokens.\n",
      );
      return 0;
    }
    throw new UsageError(`kctl token: expected "create", "list" or "delete"${verb ? `, got "${verb}"` : ""}`);
  },
};
