/**
 * `kctl kubeconfig create-user NAME [--group G]... [--token] [--output FILE]`: mints credentials for
 * a person or a program and prints a kubeconfig that uses them. By default a client certificate
 * signed by the cluster CA (user = NAME, groups = each --group), which needs the CA's key and so
 * runs on the control-plane host (`--state-dir`); with `--token`, a bearer token stored in the
 * cluster (revoked by deleting `kube-system/user-token-<id>`). Either way the user may do only what
 * RBAC grants it: bind it to a role (e.g. `ClusterRole/view`) next.
 */
import { access, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { resourceForKind } from "../../foundation/api/resources.js";
import { generateBootstrapToken, userTokenSecret } from "../../foundation/bootstrap/token-format.js";
import { ensureCa, issueCertificate } from "../../foundation/pki/pki.js";
import type { Command } from "../command.js";
import { UsageError } from "../errors.js";
import { defaultStateDir } from "./up.js";

const secrets = resourceForKind("v1", "Secret")!;

/** A kubeconfig for one cluster and one user, as kubectl reads it. */
export function userKubeconfig(opts: {
  server: string;
  caPem: string | undefined;
  user: string;
  credentials: { token: string } | { certPem: string; keyPem: string };
}): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const user =
    "token" in opts.credentials
      ? { token: opts.credentials.token }
      : {
          "client-certificate-data": b64(opts.credentials.certPem),
          "client-key-data": b64(opts.credentials.keyPem),
        };
  return stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "kctl",
          cluster: {
            server: opts.server,
            ...(opts.caPem ? { "certificate-authority-data": b64(opts.caPem) } : {}),
          },
        },
      ],
      users: [{ name: opts.user, user }],
      contexts: [{ name: `${opts.user}@kctl`, context: { cluster: "kctl", user: opts.user } }],
      "current-context": `${opts.user}@kctl`,
    },
    { indentSeq: false },
  );
}

export const kubeconfigCommand: Command = {
  usage: [
    "kctl kubeconfig create-user NAME [--group GROUP]... [--token] [--state-dir DIR] [--output FILE]",
    "",
    "Then grant it something, e.g. kubectl create clusterrolebinding jane-view --clusterrole view --user jane",
  ].join("\n"),
  flags: [
    { name: "group", kind: "strings", placeholder: "GROUP", help: "a group of the user (repeatable)" },
    { name: "token", kind: "boolean", help: "a bearer token stored in the cluster instead of a certificate" },
    {
      name: "state-dir",
      kind: "string",
      placeholder: "DIR",
      help: `the control plane's state, for the CA key (default ${defaultStateDir})`,
    },
    {
      name: "output",
      short: "o",
      kind: "string",
      placeholder: "FILE",
      help: "write the kubeconfig here (mode 0600)",
    },
  ],
  async run(ctx) {
    const [verb, name, ...rest] = ctx.positionals;
    if (verb !== "create-user")
      throw new UsageError(`kctl kubeconfig: expected "create-user"${verb ? `, got "${verb}"` : ""}`);
    if (!name || rest.length) throw new UsageError("kctl kubeconfig create-user takes one user NAME");
    if (name.startsWith("system:"))
      throw new UsageError(`NAME: "${name}": system: names belong to the cluster's own components`);
    const groups = ctx.flags.strings("group");
    if (groups.includes("system:masters")) {
      throw new UsageError(
        "--group system:masters would bypass RBAC; bind the user to cluster-admin instead",
      );
    }
    const { client, access } = await ctx.connect();
    let credentials: { token: string } | { certPem: string; keyPem: string };
    if (ctx.flags.bool("token")) {
      const token = generateBootstrapToken();
      await client.create(secrets, "kube-system", userTokenSecret({ token, user: name, groups }));
      credentials = { token };
    } else {
      const pki = join(ctx.flags.string("state-dir") ?? defaultStateDir, "pki");
      const ca = await ensureCaOnly(pki);
      credentials = await issueCertificate(ca, { commonName: name, organization: groups, client: true });
    }
    const text = userKubeconfig({ server: access.server, caPem: access.caPem, user: name, credentials });
    const output = ctx.flags.string("output");
    if (output) {
      await writeFile(output, text, { mode: 0o600 });
      ctx.io.stdout.write(`kubeconfig for user "${name}" written to ${output}\n`);
    } else {
      ctx.io.stdout.write(text);
    }
    return 0;
  },
};

/** The cluster CA from `pkiDir`; refuses to make one (that would be another cluster's). */
async function ensureCaOnly(pkiDir: string) {
  await access(join(pkiDir, "ca.key")).catch(() => {
    throw new UsageError(
      `--state-dir: no CA key at ${join(pkiDir, "ca.key")}; run this on the control-plane host or use --token`,
    );
  });
  return ensureCa(pkiDir);
}
