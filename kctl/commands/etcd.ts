/**
 * `kctl etcd`: the cluster's etcd as seen from a control plane host, with the apiserver's etcd
 * client certificate and the endpoints the control plane recorded in its state dir
 * (etcd-access.json): `member list|remove` through etcd's member API, `snapshot save` (etcdctl)
 * and `snapshot restore` into a new data dir (etcdutl, or etcdctl on etcd 3.4). Both tools come
 * with Debian's etcd-client package.
 */
import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";
import type { IMember } from "etcd3";
import { type EtcdAccess, etcdClient, readEtcdAccess } from "../../controlplane/etcd/etcd-access.js";
import { formatTable } from "../../foundation/printers/text-table.js";
import type { Command, CommandContext } from "../command.js";
import { CliError, UsageError } from "../errors.js";
import { defaultStateDir } from "./up.js";

const run = promisify(execFile);

/** etcdctl's hex form of a member ID (etcd3 gives the uint64 in decimal). */
export const memberIdHex = (id: string) => BigInt(id).toString(16);

export function formatMembers(members: readonly IMember[]): string {
  return formatTable([
    ["ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER"],
    ...members.map((m) => [
      memberIdHex(m.ID),
      m.name ? "started" : "unstarted",
      m.name,
      m.peerURLs.join(","),
      m.clientURLs.join(","),
      String(Boolean(m.isLearner)),
    ]),
  ]);
}

/** The member named `which`, or with that hex ID; throws CliError listing the names. */
export function findMember(members: readonly IMember[], which: string): IMember {
  const found = members.find((m) => m.name === which || memberIdHex(m.ID) === which.toLowerCase());
  if (!found) {
    const names = members.map((m) => m.name || memberIdHex(m.ID)).join(", ");
    throw new CliError(`etcd has no member "${which}" (members: ${names})`);
  }
  return found;
}

async function withClient<T>(
  access: EtcdAccess,
  fn: (c: Awaited<ReturnType<typeof etcdClient>>) => Promise<T>,
) {
  const client = await etcdClient(access);
  try {
    return await fn(client);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`etcd at ${access.endpoints.join(",")}: ${(err as Error).message}`);
  } finally {
    client.close();
  }
}

function etcdctlTlsArgs(access: EtcdAccess): string[] {
  return access.tls
    ? [`--cacert=${access.tls.caFile}`, `--cert=${access.tls.certFile}`, `--key=${access.tls.keyFile}`]
    : [];
}

async function tool(name: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(name, args, { env: { ...process.env, ETCDCTL_API: "3" } });
    return stdout + stderr;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") throw new CliError(`${name} not found: install Debian's etcd-client package`);
    throw new CliError(`${name} ${args[0]} ${args[1]}: ${(e.stderr || e.message).trim()}`);
  }
}

async function hasEtcdutl(): Promise<boolean> {
  return run("etcdutl", ["version"]).then(
    () => true,
    () => false,
  );
}

async function restore(ctx: CommandContext, file: string): Promise<void> {
  const dataDir = ctx.flags.string("data-dir");
  if (!dataDir) throw new UsageError("kctl etcd snapshot restore needs --data-dir DIR (a new directory)");
  const target = resolve(ctx.io.cwd, dataDir);
  if ((await readdir(target).catch(() => [])).length > 0) {
    throw new UsageError(`--data-dir ${target} is not empty; restore into a new directory`);
  }
  const name = ctx.flags.string("name");
  const peerUrl = ctx.flags.string("initial-advertise-peer-urls");
  // etcdctl's defaults are "default" and http://localhost:2380; a name alone makes a cluster of one.
  const initialCluster =
    ctx.flags.string("initial-cluster") ??
    (name ? `${name}=${peerUrl ?? "http://localhost:2380"}` : undefined);
  const args = [
    "snapshot",
    "restore",
    resolve(ctx.io.cwd, file),
    `--data-dir=${target}`,
    ...(name ? [`--name=${name}`] : []),
    ...(initialCluster ? [`--initial-cluster=${initialCluster}`] : []),
    ...(peerUrl ? [`--initial-advertise-peer-urls=${peerUrl}`] : []),
  ];
  await tool((await hasEtcdutl()) ? "etcdutl" : "etcdctl", args);
  ctx.io.stdout.write(`snapshot ${file} restored into ${target}\n`);
}

export const etcdCommand: Command = {
  usage: [
    "kctl etcd member list [--state-dir DIR] [-o json]",
    "kctl etcd member remove NAME|ID [--state-dir DIR]",
    "kctl etcd snapshot save FILE [--state-dir DIR]",
    "kctl etcd snapshot restore FILE --data-dir DIR [--name NAME]",
    "        [--initial-cluster NAME=https://IP:2380] [--initial-advertise-peer-urls https://IP:2380]",
    "",
    "Runs as root on a control plane host: it reads the etcd endpoints and the apiserver's etcd",
    `client certificate from that control plane's state dir (default ${defaultStateDir}).`,
  ].join("\n"),
  flags: [
    {
      name: "state-dir",
      kind: "string",
      placeholder: "DIR",
      help: `the control plane's state dir (default ${defaultStateDir})`,
    },
    { name: "data-dir", kind: "string", placeholder: "DIR", help: "snapshot restore: the new data dir" },
    { name: "name", kind: "string", placeholder: "NAME", help: "snapshot restore: the member's name" },
    {
      name: "initial-cluster",
      kind: "string",
      placeholder: "NAME=URL,...",
      help: "snapshot restore: the new cluster's members",
    },
    {
      name: "initial-advertise-peer-urls",
      kind: "string",
      placeholder: "URL",
      help: "snapshot restore: this member's peer URL",
    },
    {
      name: "output",
      short: "o",
      kind: "string",
      choices: ["json"],
      placeholder: "FORMAT",
      help: "member list: json",
    },
  ],
  async run(ctx) {
    const [group, verb, arg, ...extra] = ctx.positionals;
    const usage = () =>
      new UsageError(
        "kctl etcd: expected member list, member remove NAME, snapshot save FILE or snapshot restore FILE --data-dir DIR",
      );
    if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const access = () =>
      readEtcdAccess(resolve(ctx.io.cwd, ctx.flags.string("state-dir") ?? defaultStateDir));
    if (group === "member" && verb === "list" && arg === undefined) {
      const { members } = await withClient(await access(), (c) => c.cluster.memberList({}));
      ctx.io.stdout.write(
        ctx.flags.string("output") === "json"
          ? `${JSON.stringify(members, null, 2)}\n`
          : formatMembers(members),
      );
      return 0;
    }
    if (group === "member" && verb === "remove") {
      if (!arg)
        throw new UsageError("kctl etcd member remove takes a member NAME or hex ID (see member list)");
      const removed = await withClient(await access(), async (c) => {
        const member = findMember((await c.cluster.memberList({})).members, arg);
        await c.cluster.memberRemove({ ID: member.ID });
        return member;
      });
      ctx.io.stdout.write(`member ${removed.name || arg} (${memberIdHex(removed.ID)}) removed\n`);
      return 0;
    }
    if (group === "snapshot" && verb === "save") {
      if (!arg) throw new UsageError("kctl etcd snapshot save takes the FILE to write");
      const a = await access();
      // etcdctl saves from exactly one member: this host's, which the control plane lists first.
      await tool("etcdctl", [
        "snapshot",
        "save",
        resolve(ctx.io.cwd, arg),
        `--endpoints=${a.endpoints[0]}`,
        ...etcdctlTlsArgs(a),
      ]);
      ctx.io.stdout.write(`snapshot saved to ${arg} from ${a.endpoints[0]}\n`);
      return 0;
    }
    if (group === "snapshot" && verb === "restore") {
      if (!arg) throw new UsageError("kctl etcd snapshot restore takes the snapshot FILE");
      await restore(ctx, arg);
      return 0;
    }
    throw usage();
  },
};
