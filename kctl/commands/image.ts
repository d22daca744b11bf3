/**
 * `kctl image`: the images of the node agent on this host, in its store (`--state-dir`): imported
 * from OCI layouts and OCI/docker-archive tarballs, pulled from and pushed to registries, or the
 * project's busybox image built from Debian's busybox-static, or its HAProxy image (the ingress's)
 * built from Debian's haproxy.
 *
 *   kctl image import FILE|DIR [--name REF]... [--state-dir DIR]
 *   kctl image busybox [--name REF]...          # build and import the busybox image
 *   kctl image haproxy [--name REF]...          # build and import kctl.local/haproxy:debian
 *   kctl image pull REF
 *   kctl image push LOCAL-REF REMOTE-REF [--from FILE|DIR]
 *   kctl image list
 *   kctl image rm REF...
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatTable } from "../../foundation/printers/text-table.js";
import {
  buildBusyboxImage,
  buildHaproxyImage,
  busyboxImageNames,
  ImageStore,
  type ImportedImage,
  LOCAL_HAPROXY_IMAGE,
  parseReference,
} from "../../node-agent/runtime/images/index.js";
import { pushImage } from "../../node-agent/runtime/registry/index.js";
import type { Command, CommandContext } from "../command.js";
import { CliError, UsageError } from "../errors.js";
import { formatBytes, progressDisplay } from "../image/progress-display.js";
import { registryAccess, registryAccessFlags, registryOf } from "../image/registry-access.js";

/** Where `kctl up` and `kctl join` keep the local agent's state by default. */
export const defaultAgentStateDir = "/var/lib/kctl/agent";

async function importAll(
  store: ImageStore,
  source: string,
  names: readonly string[],
): Promise<ImportedImage[]> {
  const isDir = (await stat(source).catch(() => undefined))?.isDirectory();
  const once = (name?: string) =>
    isDir
      ? store.importLayout(source, name ? { name } : {})
      : store.importArchive(source, name ? { name } : {});
  if (names.length === 0) return once();
  const imported: ImportedImage[] = [];
  for (const name of names) imported.push(...(await once(name)));
  return imported;
}

async function existing(path: string, flag: string): Promise<void> {
  if (!(await stat(path).catch(() => undefined)))
    throw new UsageError(`${flag}: ${path}: no such file or directory`);
}

/** Runs `fn` with the progress display, finished (drawn once more) whatever happens. */
async function withProgress<T>(
  ctx: CommandContext,
  verb: "Downloading" | "Pushing",
  fn: (listener: ReturnType<typeof progressDisplay>["listener"]) => Promise<T>,
): Promise<T> {
  const display = progressDisplay(ctx.io.stdout, verb);
  try {
    return await fn(display.listener);
  } finally {
    display.finish();
  }
}

async function pull(ctx: CommandContext, store: ImageStore, args: readonly string[]): Promise<number> {
  if (args.length !== 1) throw new UsageError("kctl image pull takes one REF");
  const ref = args[0]!;
  const access = await registryAccess(ctx, registryOf(ref, "REF"));
  const started = Date.now();
  const image = await withProgress(ctx, "Downloading", (onProgress) =>
    store.pull(ref, { ...access, onProgress }),
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  ctx.io.stdout.write(`image/${image.reference} pulled (${image.manifestDigest}) in ${seconds}s\n`);
  return 0;
}

async function push(ctx: CommandContext, store: ImageStore, args: readonly string[]): Promise<number> {
  if (args.length !== 2) throw new UsageError("kctl image push takes LOCAL-REF REMOTE-REF");
  const [localRef, remoteRef] = args as [string, string];
  registryOf(localRef, "LOCAL-REF");
  const access = await registryAccess(ctx, registryOf(remoteRef, "REMOTE-REF"));
  const from = ctx.flags.string("from");
  let source = store;
  let scratch: string | undefined;
  try {
    if (from !== undefined) {
      // The file's image goes through a store of its own, so it is checked like any import and
      // the node's store is left alone.
      await existing(from, "--from");
      scratch = await mkdtemp(join(tmpdir(), "kctl-push-"));
      source = new ImageStore(scratch);
      await importAll(source, from, [localRef]);
    }
    const pushed = await withProgress(ctx, "Pushing", (onProgress) =>
      pushImage(source, localRef, remoteRef, { ...access, onProgress }),
    );
    ctx.io.stdout.write(
      `image/${pushed.reference} pushed (${pushed.manifestDigest}): ${pushed.uploaded.length} blobs uploaded, ${pushed.mounted.length} mounted\n`,
    );
    return 0;
  } finally {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
}

async function remove(ctx: CommandContext, store: ImageStore, refs: readonly string[]): Promise<number> {
  if (refs.length === 0) throw new UsageError("kctl image rm takes one or more REF");
  const present = new Set((await store.list()).map((i) => i.reference));
  const names = refs.map((ref) => ({ ref, text: parseReference(ref).text }));
  const missing = names.filter((n) => !present.has(n.text));
  if (missing.length > 0)
    throw new CliError(missing.map((n) => `image "${n.ref}" (${n.text}) is not on this node`));
  for (const { text } of names) {
    await store.remove(text);
    ctx.io.stdout.write(`image/${text} removed\n`);
  }
  return 0;
}

export const imageCommand: Command = {
  usage: [
    "kctl image import FILE|DIR [--name REF]... [--state-dir DIR]",
    "kctl image busybox [--name REF]... [--state-dir DIR]",
    "kctl image haproxy [--name REF]... [--state-dir DIR]",
    "kctl image pull REF [--username USER --password-stdin | --authfile FILE] [--registry-config FILE] [--plain-http]",
    "kctl image push LOCAL-REF REMOTE-REF [--from FILE|DIR] [credentials and registry flags as pull]",
    "kctl image list [--state-dir DIR]",
    "kctl image rm REF... [--state-dir DIR]",
  ].join("\n"),
  flags: [
    { name: "name", kind: "strings", placeholder: "REF", help: "name the image (repeatable)" },
    {
      name: "state-dir",
      kind: "string",
      placeholder: "DIR",
      help: `the agent's state dir (default ${defaultAgentStateDir})`,
    },
    {
      name: "from",
      kind: "string",
      placeholder: "FILE|DIR",
      help: "push the image LOCAL-REF names in this OCI layout or archive, not in the node's store",
    },
    ...registryAccessFlags,
  ],
  async run(ctx) {
    const [verb, ...args] = ctx.positionals;
    const store = new ImageStore(ctx.flags.string("state-dir") ?? defaultAgentStateDir);
    const names = ctx.flags.strings("name");
    const print = (images: ImportedImage[]) => {
      for (const i of images)
        ctx.io.stdout.write(`image/${i.reference} imported (${i.imageId.slice(0, 19)})\n`);
    };
    if (verb === "import") {
      if (args.length !== 1) throw new UsageError("kctl image import takes one FILE or DIR");
      const source = args[0]!;
      await existing(source, "kctl image import");
      print(await importAll(store, source, names));
      return 0;
    }
    if (verb === "busybox" || verb === "haproxy") {
      if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
      const dir = await mkdtemp(join(tmpdir(), `kctl-${verb}-`));
      try {
        if (verb === "busybox") {
          await buildBusyboxImage(dir);
          print(await importAll(store, dir, [...(await busyboxImageNames()), ...names]));
        } else {
          await buildHaproxyImage(dir);
          print(await importAll(store, dir, [LOCAL_HAPROXY_IMAGE, ...names]));
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return 0;
    }
    if (verb === "pull") return pull(ctx, store, args);
    if (verb === "push") return push(ctx, store, args);
    if (verb === "rm") return remove(ctx, store, args);
    if (verb === "list") {
      const rows = (await store.list()).map((i) => [
        i.reference,
        i.manifestDigest,
        i.imageId.slice(0, 19),
        formatBytes(i.size),
      ]);
      ctx.io.stdout.write(
        rows.length ? formatTable([["IMAGE", "DIGEST", "ID", "SIZE"], ...rows]) : "No images.\n",
      );
      return 0;
    }
    throw new UsageError(
      `kctl image: expected import, busybox, haproxy, pull, push, list or rm${verb ? `, got "${verb}"` : ""}`,
    );
  },
};
