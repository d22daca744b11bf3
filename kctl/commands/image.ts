/**
 * `kctl image`: the images of the node agent on this host. Images are imported, not pulled (pulling
 * from registries comes later): OCI layouts and OCI/docker-archive tarballs, or the project's own
 * busybox image built from Debian's busybox-static.
 *
 *   kctl image import FILE|DIR [--name REF]... [--state-dir DIR]
 *   kctl image busybox [--name REF]...          # build and import the busybox image
 *   kctl image list
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatTable } from "../../controlplane/printers/text-table.js";
import {
  buildBusyboxImage,
  busyboxImageNames,
  ImageStore,
  type ImportedImage,
} from "../../node-agent/runtime/images/index.js";
import type { Command } from "../command.js";
import { UsageError } from "../errors.js";

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

export const imageCommand: Command = {
  name: "image",
  summary: "Import and list the images of this host's node agent",
  usage: [
    "kctl image import FILE|DIR [--name REF]... [--state-dir DIR]",
    "kctl image busybox [--name REF]... [--state-dir DIR]",
    "kctl image list [--state-dir DIR]",
  ].join("\n"),
  flags: [
    { name: "name", kind: "strings", placeholder: "REF", help: "name the image (repeatable)" },
    {
      name: "state-dir",
      kind: "string",
      placeholder: "DIR",
      help: `the agent's state dir (default ${defaultAgentStateDir})`,
    },
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
      if (!(await stat(source).catch(() => undefined)))
        throw new UsageError(`kctl image import: ${source}: no such file or directory`);
      print(await importAll(store, source, names));
      return 0;
    }
    if (verb === "busybox") {
      if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
      const dir = await mkdtemp(join(tmpdir(), "kctl-busybox-"));
      try {
        await buildBusyboxImage(dir);
        print(await importAll(store, dir, [...(await busyboxImageNames()), ...names]));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return 0;
    }
    if (verb === "list") {
      const rows = (await store.list()).map((i) => [i.reference, i.imageId.slice(0, 19)]);
      ctx.io.stdout.write(rows.length ? formatTable([["IMAGE", "ID"], ...rows]) : "No images.\n");
      return 0;
    }
    throw new UsageError(`kctl image: expected import, busybox or list${verb ? `, got "${verb}"` : ""}`);
  },
};
