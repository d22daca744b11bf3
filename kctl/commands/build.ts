/**
 * `kctl build`: an image from a Dockerfile into this host's image store (kctl/build/), tagged
 * and, with --push, pushed to the registry its tag names.
 *
 *   kctl build -t NAME[:TAG]... [-f Dockerfile] [--build-arg K=V]... [--target STAGE] [--push]
 *              [--platform linux/ARCH] [--no-cache] [--network host|none] CONTEXT
 *   kctl build prune
 */
import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ImageStore } from "../../node-agent/runtime/images/index.js";
import { hostArchitecture } from "../../node-agent/runtime/images/oci.js";
import { pushImage } from "../../node-agent/runtime/registry/index.js";
import { nativeBuildPath } from "../../node-agent/util/native-build.js";
import { build, CACHE_REPOSITORY } from "../build/builder.js";
import { BuildError } from "../build/errors.js";
import { buildProgress } from "../build/progress-display.js";
import type { Command, CommandContext } from "../command.js";
import { CliError, UsageError } from "../errors.js";
import { registryAccess, registryAccessFlags, registryOf } from "../image/registry-access.js";
import { defaultAgentStateDir } from "./image.js";

function buildArgs(values: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new UsageError(`--build-arg ${v}: expected KEY=VALUE`);
    out.set(v.slice(0, eq), v.slice(eq + 1));
  }
  return out;
}

function sourceDateEpoch(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.SOURCE_DATE_EPOCH;
  if (text === undefined || text === "") return undefined;
  if (!/^\d+$/.test(text))
    throw new UsageError(`SOURCE_DATE_EPOCH=${text}: must be whole seconds since 1970`);
  return Number(text);
}

async function prune(ctx: CommandContext, store: ImageStore): Promise<number> {
  const cached = (await store.list()).filter((i) => i.reference.startsWith(`${CACHE_REPOSITORY}:`));
  for (const i of cached) await store.remove(i.reference);
  await store.sweepUnused();
  ctx.io.stdout.write(`${cached.length} cached steps removed\n`);
  return 0;
}

export const buildCommand: Command = {
  usage: [
    "kctl build -t NAME[:TAG] [-f Dockerfile] [--build-arg K=V]... [--target STAGE] [--push] [--no-cache] CONTEXT",
    "kctl build prune",
  ].join("\n"),
  flags: [
    {
      name: "tag",
      short: "t",
      kind: "strings",
      placeholder: "NAME[:TAG]",
      help: "name the image (repeatable)",
    },
    {
      name: "file",
      short: "f",
      kind: "string",
      placeholder: "FILE",
      help: "the Dockerfile (default CONTEXT/Dockerfile)",
    },
    { name: "build-arg", kind: "strings", placeholder: "K=V", help: "set a build argument (repeatable)" },
    { name: "target", kind: "string", placeholder: "STAGE", help: "build up to this stage" },
    { name: "push", kind: "boolean", help: "push each tag to its registry after the build" },
    { name: "platform", kind: "string", placeholder: "OS/ARCH", help: "only this host's, linux/ARCH" },
    { name: "no-cache", kind: "boolean", help: "run every step, reusing nothing" },
    {
      name: "network",
      kind: "string",
      choices: ["host", "none"],
      placeholder: "host|none",
      help: "RUN steps' network: the host's (default) or none",
    },
    { name: "quiet", short: "q", kind: "boolean", help: "print only the result" },
    {
      name: "state-dir",
      kind: "string",
      placeholder: "DIR",
      help: `the agent's state dir (default ${defaultAgentStateDir})`,
    },
    ...registryAccessFlags,
  ],
  async run(ctx) {
    const store = new ImageStore(ctx.flags.string("state-dir") ?? defaultAgentStateDir);
    if (ctx.positionals[0] === "prune" && ctx.positionals.length === 1) return prune(ctx, store);
    if (ctx.positionals.length !== 1) throw new UsageError("kctl build takes one CONTEXT directory");
    if (process.getuid?.() !== 0) {
      throw new CliError(
        "kctl build needs root: each step mounts an overlay and RUN steps run in containers",
      );
    }
    const context = resolve(ctx.io.cwd, ctx.positionals[0]!);
    if (!(await stat(context).catch(() => undefined))?.isDirectory()) {
      throw new UsageError(`CONTEXT: ${context} is not a directory`);
    }
    const tags = ctx.flags.strings("tag");
    const push = ctx.flags.bool("push");
    if (push && tags.length === 0) throw new UsageError("--push needs a -t NAME to push to");
    for (const t of tags) registryOf(t, "-t");
    const platform = ctx.flags.string("platform");
    if (platform !== undefined && platform !== `linux/${hostArchitecture()}`) {
      throw new UsageError(`--platform ${platform}: this host builds linux/${hostArchitecture()} only`);
    }
    const file = ctx.flags.string("file") ?? join(context, "Dockerfile");
    const path = resolve(ctx.io.cwd, file);
    const dockerfile = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
      throw new CliError(`-f ${file}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
    });
    const started = Date.now();
    const quiet = ctx.flags.bool("quiet") || !(ctx.io.stdout as { isTTY?: boolean }).isTTY;
    try {
      const built = await build({
        store,
        runtime: nativeBuildPath("kshim"),
        dockerfile,
        file,
        context,
        tags,
        buildArgs: buildArgs(ctx.flags.strings("build-arg")),
        ...(ctx.flags.string("target") !== undefined ? { target: ctx.flags.string("target")! } : {}),
        noCache: ctx.flags.bool("no-cache"),
        network: (ctx.flags.string("network") as "host" | "none" | undefined) ?? "host",
        ...(sourceDateEpoch(ctx.io.env) !== undefined ? { epoch: sourceDateEpoch(ctx.io.env)! } : {}),
        pull: async (ref) => {
          await store.pull(ref, await registryAccess(ctx, registryOf(ref, "FROM")));
        },
        progress: buildProgress(ctx.io.stdout, quiet),
      });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      for (const ref of built.references) {
        ctx.io.stdout.write(`image/${ref} built (${built.manifestDigest}) in ${seconds}s\n`);
      }
      if (built.references.length === 0) ctx.io.stdout.write(`${built.imageId}\n`);
      if (push) {
        for (const ref of built.references) {
          const pushed = await pushImage(store, ref, ref, await registryAccess(ctx, registryOf(ref, "-t")));
          ctx.io.stdout.write(`image/${pushed.reference} pushed (${pushed.manifestDigest})\n`);
        }
      }
      return 0;
    } catch (err) {
      if (err instanceof BuildError) throw new CliError(err.message.split("\n"));
      throw err;
    }
  },
};
