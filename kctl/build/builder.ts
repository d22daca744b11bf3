/**
 * Builds an image from a Dockerfile into the node's image store. Each stage starts from an image
 * (the store's, pulled when absent, another stage, or scratch); RUN, COPY and ADD each run on an
 * overlay of the layers so far and their snapshot diff becomes a layer; the other instructions
 * change the image config. Every layer step is kept in the store as an image named
 * `kctl.build/cache:<key>`, where the key hashes the parent's key, the instruction as expanded,
 * the env, workdir, user and shell it runs with, and the content of the files it reads, so an
 * unchanged step is reused and a changed file rebuilds from the first step that reads it.
 *
 * Nothing is tagged unless the whole build succeeds; a failed step leaves no image and no mount.
 */
import { randomBytes } from "node:crypto";
import { copyFile, lstat, mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from "node:fs/promises";
import { basename, join, posix } from "node:path";
import { extractChecked } from "../../node-agent/runtime/images/checked-extract-linux.js";
import { sha256Digest } from "../../node-agent/runtime/images/digest.js";
import { type ImageStore, isImageNotFound, parseReference } from "../../node-agent/runtime/images/index.js";
import { type Descriptor, hostArchitecture, MediaType } from "../../node-agent/runtime/images/oci.js";
import {
  isNumericId,
  lookupGroup,
  lookupUser,
  readAccounts,
  resolveInRoot,
  splitImageUser,
} from "../../node-agent/runtime/oci/image-user.js";
import {
  contentDigest,
  contextTree,
  matchSource,
  plainTree,
  type SourceTree,
  sourcePath,
} from "./context.js";
import { BuildError, lineError } from "./errors.js";
import { type CommandForm, type Dockerfile, type Instruction, readDockerfile } from "./instructions.js";
import { diffToLayer } from "./layer-diff-linux.js";
import { copyIntoRoot, mkdirInRoot } from "./rootfs-files.js";
import { removeStepCgroupParent, runStep } from "./run-step-linux.js";
import { expandWord, expandWords, ShellWordError } from "./shell-words.js";

export const CACHE_REPOSITORY = "kctl.build/cache";

/** What the build reports as it goes (the progress display). */
export interface BuildProgress {
  step(index: number, total: number, text: string): void;
  /** The step was found in the cache. */
  cached(): void;
  /** Output of the running step (a RUN's, whole lines). */
  output(text: string): void;
  /** The step ended after `ms`. */
  done(ms: number): void;
}

export interface BuildOptions {
  store: ImageStore;
  /** The kshim binary RUN steps use. */
  runtime: string;
  /** Dockerfile text and the name errors give it. */
  dockerfile: string;
  file: string;
  context: string;
  tags: readonly string[];
  buildArgs: ReadonlyMap<string, string>;
  target?: string;
  noCache: boolean;
  network: "host" | "none";
  /** SOURCE_DATE_EPOCH in seconds: timestamps in the image are this, never later. */
  epoch?: number;
  /** Pulls `ref` into the store (a FROM image the store lacks). */
  pull(ref: string): Promise<void>;
  progress: BuildProgress;
}

export interface BuiltImage {
  manifestDigest: string;
  imageId: string;
  references: string[];
}

interface OciConfig {
  architecture: string;
  os: string;
  created?: string;
  author?: string;
  config: Record<string, unknown> & {
    Env?: string[];
    Labels?: Record<string, string>;
    ExposedPorts?: Record<string, object>;
    Volumes?: Record<string, object>;
  };
  rootfs: { type: "layers"; diff_ids: string[] };
  history: { created?: string; created_by: string; empty_layer?: boolean }[];
}

interface Stage {
  name?: string;
  /** Store reference of the layers so far; undefined while the stage has none (scratch). */
  ref?: string;
  layers: Descriptor[];
  config: OciConfig;
  /** Cache key of everything so far. */
  key: string;
  /** ARGs declared in this stage and their values. */
  args: Map<string, string>;
  /** A CMD came in this stage (an ENTRYPOINT then keeps it). */
  cmdSet?: boolean;
  /** Position among the Dockerfile's stages (`COPY --from=0`). */
  index: number;
}

const DEFAULT_SHELL = ["/bin/sh", "-c"];
const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export async function build(o: BuildOptions): Promise<BuiltImage> {
  const df = readDockerfile(o.dockerfile, o.file);
  // Beside the store, so steps' layer files and the store's blobs share a filesystem.
  await mkdir(o.store.dir, { recursive: true });
  const work = await mkdtemp(join(o.store.dir, "..", ".build-"));
  try {
    return await new Build(o, df, work).run();
  } finally {
    await rm(work, { recursive: true, force: true });
    await removeStepCgroupParent();
  }
}

class Build {
  private readonly stages: Stage[] = [];
  private readonly created: string;
  private readonly globalArgs = new Map<string, string>();
  private context: SourceTree | undefined;

  constructor(
    private readonly o: BuildOptions,
    private readonly df: Dockerfile,
    private readonly work: string,
  ) {
    this.created = new Date(o.epoch !== undefined ? o.epoch * 1000 : Date.now())
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");
  }

  async run(): Promise<BuiltImage> {
    const steps = this.stepsToBuild();
    let stage: Stage | undefined;
    for (const [n, ins] of steps.entries()) {
      const started = Date.now();
      this.o.progress.step(n + 1, steps.length, this.describe(ins));
      const where = `${this.df.file}:${ins.line}`;
      try {
        if (ins.kind === "ARG" && stage === undefined) {
          for (const a of ins.args) {
            const value =
              this.o.buildArgs.get(a.name) ??
              (a.value !== undefined ? this.expand(a.value, undefined) : undefined);
            if (value !== undefined) this.globalArgs.set(a.name, value);
          }
          this.o.progress.done(Date.now() - started);
          continue;
        }
        if (ins.kind === "FROM") {
          stage = await this.from(ins);
          this.stages.push(stage);
          this.o.progress.done(Date.now() - started);
          continue;
        }
        await this.step(stage!, ins, where);
        this.o.progress.done(Date.now() - started);
      } catch (err) {
        if (err instanceof ShellWordError)
          throw lineError(this.df.file, ins.line, `${ins.kind}: ${err.message}`, "Invalid");
        throw err;
      }
    }
    return this.finish(stage!);
  }

  /**
   * The global ARGs, then the stages the target needs (the last stage when none is named): the
   * target, and every stage a needed one starts FROM or copies from, in file order. A reference
   * with a variable in it may name any earlier stage, so all earlier ones are kept then.
   */
  private stepsToBuild(): Instruction[] {
    const all = this.df.instructions;
    const starts = all.flatMap((ins, n) => (ins.kind === "FROM" ? [n] : []));
    const stages = starts.map((start, k) => all.slice(start, starts[k + 1] ?? all.length));
    let target = stages.length - 1;
    if (this.o.target !== undefined) {
      const name = this.o.target.toLowerCase();
      target = stages.findIndex((st) => st[0]!.kind === "FROM" && st[0]!.stage === name);
      if (target < 0)
        throw new BuildError("Invalid", `--target ${this.o.target}: no stage of ${this.df.file} is named so`);
    }
    const indexOf = (ref: string, before: number): number[] => {
      if (ref.includes("$")) return [...Array(before).keys()];
      const lower = ref.toLowerCase();
      const byName = stages.findIndex(
        (st, k) => k < before && st[0]!.kind === "FROM" && st[0]!.stage === lower,
      );
      if (byName >= 0) return [byName];
      return /^\d+$/.test(ref) && Number(ref) < before ? [Number(ref)] : [];
    };
    const needed = new Set<number>();
    const visit = (k: number) => {
      if (needed.has(k)) return;
      needed.add(k);
      for (const ins of stages[k]!) {
        if (ins.kind === "FROM") for (const d of indexOf(ins.image, k)) visit(d);
        if ((ins.kind === "COPY" || ins.kind === "ADD") && ins.from !== undefined)
          for (const d of indexOf(ins.from, k)) visit(d);
      }
    };
    visit(target);
    return [...all.slice(0, starts[0]), ...stages.filter((_, k) => needed.has(k)).flat()];
  }

  private describe(ins: Instruction): string {
    return `${ins.kind} ${summary(ins)}`;
  }

  /** Variables visible on a line: the stage's ENV over its ARGs, or the global ARGs before any stage. */
  private lookup(stage: Stage | undefined): (name: string) => string | undefined {
    if (stage === undefined) return (name) => this.globalArgs.get(name);
    const env = envMap(stage.config.config.Env ?? []);
    return (name) => env.get(name) ?? stage.args.get(name);
  }

  private expand(text: string, stage: Stage | undefined): string {
    return expandWord(text, this.lookup(stage), this.df.escape);
  }

  private async from(ins: Extract<Instruction, { kind: "FROM" }>): Promise<Stage> {
    const where = `${this.df.file}:${ins.line}`;
    if (ins.platform !== undefined) {
      const platform = this.expand(ins.platform, undefined);
      if (platform !== `linux/${hostArchitecture()}`) {
        throw new BuildError(
          "Invalid",
          `${where}: FROM --platform=${platform}: this builder makes linux/${hostArchitecture()} images only`,
        );
      }
    }
    const image = this.expand(ins.image, undefined);
    const named = this.stages.find((s) => s.name === image.toLowerCase());
    const base: Omit<Stage, "index"> = named
      ? { ...structuredClone({ ...named, args: undefined }), args: new Map() }
      : await this.baseImage(image, where);
    const stage: Stage = {
      ...base,
      index: this.df.instructions.filter((i) => i.kind === "FROM").indexOf(ins),
    };
    if (ins.stage !== undefined) stage.name = ins.stage;
    else delete stage.name;
    delete stage.cmdSet;
    return stage;
  }

  private async baseImage(image: string, where: string): Promise<Omit<Stage, "index">> {
    if (image === "scratch") {
      return {
        layers: [],
        config: {
          architecture: hostArchitecture(),
          os: "linux",
          config: { Env: [DEFAULT_PATH] },
          rootfs: { type: "layers", diff_ids: [] },
          history: [],
        },
        key: sha256Digest("scratch"),
        args: new Map(),
      };
    }
    let ref: string;
    try {
      ref = parseReference(image).text;
    } catch (err) {
      throw new BuildError("Invalid", `${where}: FROM ${image}: ${(err as Error).message}`);
    }
    const found = await this.inspectOrPull(ref, where);
    const config = found.config as OciConfig;
    config.config ??= {};
    config.history ??= [];
    return { ref, layers: found.manifest.layers, config, key: found.manifestDigest, args: new Map() };
  }

  private async inspectOrPull(ref: string, where: string) {
    try {
      return await this.o.store.inspect(ref);
    } catch (err) {
      if (!isImageNotFound(err)) throw err;
    }
    try {
      await this.o.pull(ref);
    } catch (err) {
      throw new BuildError(
        "Invalid",
        `${where}: image ${ref} is not in the store and cannot be pulled: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return this.o.store.inspect(ref);
  }

  /** Runs one instruction of a stage. */
  private async step(stage: Stage, ins: Instruction, where: string): Promise<void> {
    const c = stage.config.config;
    const lookup = this.lookup(stage);
    const word = (t: string) => expandWord(t, lookup, this.df.escape);
    const record = (createdBy: string) => {
      stage.key = sha256Digest(JSON.stringify([stage.key, createdBy]));
      stage.config.history.push({ created: this.created, created_by: createdBy, empty_layer: true });
    };
    switch (ins.kind) {
      case "ARG":
        for (const a of ins.args) {
          const value =
            this.o.buildArgs.get(a.name) ??
            (a.value !== undefined ? word(a.value) : this.globalArgs.get(a.name));
          if (value !== undefined) stage.args.set(a.name, value);
          else stage.args.delete(a.name);
        }
        stage.key = sha256Digest(JSON.stringify([stage.key, "ARG", [...stage.args]]));
        return;
      case "ENV": {
        const env = envMap(c.Env ?? []);
        for (const [k, v] of ins.pairs) env.set(word(k), word(v));
        c.Env = [...env].map(([k, v]) => `${k}=${v}`);
        record(`ENV ${ins.pairs.map(([k]) => `${word(k)}=${env.get(word(k))}`).join(" ")}`);
        return;
      }
      case "LABEL": {
        c.Labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of ins.pairs) c.Labels[word(k)] = word(v);
        record(`LABEL ${ins.pairs.map(([k, v]) => `${word(k)}=${word(v)}`).join(" ")}`);
        return;
      }
      case "WORKDIR": {
        const dir = posix.resolve(String(c.WorkingDir || "/"), word(ins.value));
        c.WorkingDir = dir;
        record(`WORKDIR ${dir}`);
        return;
      }
      case "USER":
        c.User = word(ins.value);
        record(`USER ${c.User}`);
        return;
      case "EXPOSE": {
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const raw of ins.values) {
          const port = word(raw);
          const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(port);
          if (!m || Number(m[1]) > 65535)
            throw lineError(
              this.df.file,
              ins.line,
              `EXPOSE: "${port}" is not PORT[/tcp|udp|sctp]`,
              "Invalid",
            );
          c.ExposedPorts[`${m[1]}/${(m[2] ?? "tcp").toLowerCase()}`] = {};
        }
        record(`EXPOSE ${Object.keys(c.ExposedPorts).join(" ")}`);
        return;
      }
      case "VOLUME":
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of ins.values) c.Volumes[word(v)] = {};
        record(`VOLUME ${ins.values.map(word).join(" ")}`);
        return;
      case "STOPSIGNAL":
        c.StopSignal = word(ins.value);
        record(`STOPSIGNAL ${c.StopSignal}`);
        return;
      case "MAINTAINER":
        stage.config.author = ins.value;
        record(`MAINTAINER ${ins.value}`);
        return;
      case "SHELL":
        c.Shell = ins.shell;
        record(`SHELL ${JSON.stringify(ins.shell)}`);
        return;
      case "ENTRYPOINT":
      case "CMD": {
        const argv = this.argv(stage, ins.command);
        c[ins.kind === "CMD" ? "Cmd" : "Entrypoint"] = argv;
        // As docker build: a new ENTRYPOINT drops the CMD inherited from the base image.
        if (ins.kind === "CMD") stage.cmdSet = true;
        else if (!stage.cmdSet) delete c.Cmd;
        record(`${ins.kind} ${JSON.stringify(argv)}`);
        return;
      }
      case "HEALTHCHECK":
        c.Healthcheck = { Test: ins.test, ...healthOptions(ins.options, where) };
        record(`HEALTHCHECK ${JSON.stringify(ins.test)}`);
        return;
      case "RUN":
        return this.runInstruction(stage, ins, where);
      case "COPY":
      case "ADD":
        await this.copy(stage, ins, where);
        return;
      case "FROM":
        throw new BuildError("Invalid", `${where}: FROM inside a stage`);
    }
  }

  private argv(stage: Stage, command: CommandForm): string[] {
    if ("exec" in command) return command.exec;
    const shell = (stage.config.config.Shell as string[] | undefined) ?? DEFAULT_SHELL;
    return [...shell, command.shell];
  }

  private async runInstruction(
    stage: Stage,
    ins: Extract<Instruction, { kind: "RUN" }>,
    where: string,
  ): Promise<void> {
    if (stage.ref === undefined) {
      throw new BuildError(
        "Invalid",
        `${where}: RUN in a stage with no files (FROM scratch): there is no shell to run it`,
      );
    }
    const c = stage.config.config;
    const argv = this.argv(stage, ins.command);
    const env = envMap([DEFAULT_PATH, ...(c.Env ?? [])]);
    // ARGs are in the step's environment but not in the image's.
    for (const [k, v] of stage.args) if (!envMap(c.Env ?? []).has(k)) env.set(k, v);
    const envList = [...env].map(([k, v]) => `${k}=${v}`);
    const cwd = String(c.WorkingDir || "/");
    const user = String(c.User ?? "");
    const network = ins.network ?? this.o.network;
    await this.layerStep(
      stage,
      ["RUN", argv, envList, cwd, user, network],
      `RUN ${argv.join(" ")}`,
      async (root, dir, id) => {
        await mkdirInRoot(root, cwd);
        const result = await runStep({
          runtime: this.o.runtime,
          dir,
          id,
          rootfs: root,
          args: argv,
          env: envList,
          cwd,
          user,
          network,
          where: `${where}: RUN`,
          onOutput: (text) => this.o.progress.output(text),
        });
        const output = result.output;
        if (result.exitCode !== 0) {
          throw new BuildError(
            "StepFailed",
            `${where}: RUN ${argv.join(" ")}: exit code ${result.exitCode}${output ? `\n${output.trimEnd()}` : ""}`,
          );
        }
      },
    );
  }

  private async copy(
    stage: Stage,
    ins: Extract<Instruction, { kind: "COPY" | "ADD" }>,
    where: string,
  ): Promise<void> {
    const lookup = this.lookup(stage);
    const word = (t: string) => expandWord(t, lookup, this.df.escape);
    const sources = ins.sources.flatMap((s) => expandWords(s, lookup, this.df.escape));
    const destWord = word(ins.dest);
    const workdir = String(stage.config.config.WorkingDir || "/");
    const dest = posix.resolve(workdir, destWord);
    const intoDir = destWord.endsWith("/") || sources.length > 1;
    const chown = ins.chown !== undefined ? word(ins.chown) : undefined;
    const mode = ins.chmod !== undefined ? Number.parseInt(ins.chmod, 8) : undefined;
    const from = ins.from !== undefined ? word(ins.from) : undefined;
    const label = `${ins.kind} ${sources.join(" ")} ${dest}`;
    const fromStage =
      from === undefined
        ? undefined
        : this.stages.find(
            (s) => s.name === from.toLowerCase() || (/^\d+$/.test(from) && s.index === Number(from)),
          );
    let sourceRef: string | undefined;
    let sourceKey: string;
    let tree: SourceTree | undefined;
    if (from === undefined) {
      this.context ??= await contextTree(this.o.context);
      tree = this.context;
      const matched = (
        await Promise.all(sources.map((s) => matchSource(tree!, s, `${where}: ${ins.kind}`)))
      ).flat();
      sourceKey = await contentDigest(tree, matched);
    } else if (fromStage !== undefined) {
      sourceRef = fromStage.ref;
      sourceKey = fromStage.key;
      if (sourceRef === undefined)
        throw new BuildError("Invalid", `${where}: COPY --from=${from}: that stage has no files`);
    } else {
      try {
        sourceRef = parseReference(from).text;
      } catch (err) {
        throw new BuildError(
          "Invalid",
          `${where}: COPY --from=${from}: neither a stage nor an image reference (${(err as Error).message})`,
        );
      }
      sourceKey = (await this.inspectOrPull(sourceRef, where)).manifestDigest;
    }
    const keyParts = [ins.kind, sources, dest, intoDir, chown, mode, sourceKey];
    await this.layerStep(stage, keyParts, label, async (root, dir) => {
      const owner =
        chown !== undefined
          ? await ownerIn(root, chown, `${where}: ${ins.kind} --chown`)
          : from === undefined
            ? { uid: 0, gid: 0 }
            : undefined;
      const withSource = async (fn: (t: SourceTree) => Promise<void>) => {
        if (tree !== undefined) return fn(tree);
        const mounted = await this.o.store.prepareRootfs(`${basename(dir)}-from`, sourceRef!);
        try {
          await fn(plainTree(mounted.path));
        } finally {
          await mounted.release();
        }
      };
      await withSource(async (t) => {
        const skip = (host: string) => !t.visible(host.slice(t.root.length + 1));
        const where2 = `${where}: ${ins.kind}`;
        const matched = (await Promise.all(sources.map((s) => matchSource(t, s, where2)))).flat();
        // Directories the copy makes belong to the --chown owner, as docker build makes them.
        if (intoDir || (await isDirIn(root, dest))) await mkdirInRoot(root, dest, owner);
        else await mkdirInRoot(root, posix.dirname(dest), owner);
        for (const rel of matched) {
          const host = await sourcePath(t, rel);
          if (host === undefined)
            throw new BuildError("Invalid", `${where2}: "${rel}" not found in ${t.root}`);
          const st = await lstat(host);
          if (ins.kind === "ADD" && st.isFile() && (await isArchive(host))) {
            await addArchive(host, root, dest, dir, `${where2} ${rel}`);
            continue;
          }
          const target = st.isDirectory()
            ? dest
            : intoDir || (await isDirIn(root, dest))
              ? posix.join(dest, posix.basename(rel))
              : dest;
          await copyIntoRoot(host, root, target, {
            ...(owner ? { owner } : {}),
            ...(mode !== undefined ? { mode } : {}),
            skip,
          });
        }
      });
    });
  }

  /**
   * A step that makes a layer: reused from the cache when its key is there, else `apply` runs on
   * a rootfs of the stage's layers (an overlay, or an empty dir while there are none) and the
   * rootfs's own writes become the layer, kept in the store under the key.
   */
  private async layerStep(
    stage: Stage,
    keyParts: unknown[],
    createdBy: string,
    apply: (root: string, dir: string, id: string) => Promise<void>,
  ): Promise<void> {
    const key = sha256Digest(JSON.stringify([stage.key, ...keyParts]));
    const hex = key.slice("sha256:".length);
    const cacheRef = `${CACHE_REPOSITORY}:${hex}`;
    if (!this.o.noCache) {
      const hit = await this.o.store.inspect(cacheRef).catch((err: unknown) => {
        if (isImageNotFound(err)) return undefined;
        throw err;
      });
      if (hit !== undefined) {
        const cached = hit.config as OciConfig;
        stage.ref = parseReference(cacheRef).text;
        stage.layers = hit.manifest.layers;
        stage.config.rootfs = cached.rootfs;
        stage.config.history = cached.history;
        stage.key = key;
        this.o.progress.cached();
        return;
      }
    }
    const id = `kb-${hex.slice(0, 12)}-${randomBytes(3).toString("hex")}`;
    const dir = join(this.work, id);
    await mkdir(dir, { recursive: true });
    let root: string;
    let upper: string;
    let release = async () => {};
    if (stage.ref !== undefined) {
      const rootfs = await this.o.store.prepareRootfs(id, stage.ref);
      root = rootfs.path;
      upper = rootfs.upperDir;
      release = rootfs.release;
    } else {
      root = upper = join(dir, "rootfs");
      await mkdir(root, { mode: 0o755 });
    }
    let layer: Awaited<ReturnType<typeof diffToLayer>>;
    try {
      await apply(root, dir, id);
      layer = await diffToLayer(upper, join(dir, "layer.tar.gz"), this.o.epoch);
    } finally {
      await release();
    }
    stage.config.rootfs = { type: "layers", diff_ids: [...stage.config.rootfs.diff_ids, layer.diffId] };
    stage.config.history = [...stage.config.history, { created: this.created, created_by: createdBy }];
    stage.layers = [
      ...stage.layers,
      { mediaType: MediaType.ociLayerGzip, digest: layer.digest, size: layer.size },
    ];
    await this.save(stage, cacheRef, [layer.path]);
    stage.ref = parseReference(cacheRef).text;
    stage.key = key;
  }

  /**
   * Writes the stage's layers with `config` (the stage's, stamped now, by default) as an OCI
   * layout holding only its new blobs, and imports it as `name`.
   */
  private async save(
    stage: Stage,
    name: string,
    newLayers: string[],
    config: unknown = { ...stage.config, created: this.created },
  ): Promise<{ manifestDigest: string; imageId: string }> {
    const dir = await mkdtemp(join(this.work, "layout-"));
    const blobs = join(dir, "blobs", "sha256");
    await mkdir(blobs, { recursive: true });
    const blob = async (data: Buffer) => {
      const digest = sha256Digest(data);
      await writeFile(join(blobs, digest.slice(7)), data);
      return { digest, size: data.length };
    };
    for (const path of newLayers) {
      const digest = stage.layers.at(-1)!.digest;
      await copyFile(path, join(blobs, digest.slice(7)));
    }
    const configDesc = await blob(Buffer.from(JSON.stringify(config)));
    const manifest = await blob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { mediaType: MediaType.ociConfig, ...configDesc },
          layers: stage.layers,
        }),
      ),
    );
    await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    await writeFile(
      join(dir, "index.json"),
      JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MediaType.ociManifest, ...manifest }] }),
    );
    const [imported] = await this.o.store.importLayout(dir, { name });
    await rm(dir, { recursive: true, force: true });
    return { manifestDigest: imported!.manifestDigest, imageId: imported!.imageId };
  }

  private async finish(stage: Stage): Promise<BuiltImage> {
    if (stage.layers.length === 0)
      throw new BuildError(
        "Invalid",
        `${this.df.file}: the image has no files (FROM scratch and nothing copied)`,
      );
    // The final config is cached too, so a build in which nothing changed gives the same image
    // (its times included) rather than a new one.
    const finalRef = `${CACHE_REPOSITORY}:final-${stage.key.slice(7)}`;
    const cached = this.o.noCache
      ? undefined
      : await this.o.store.inspect(finalRef).catch((err: unknown) => {
          if (isImageNotFound(err)) return undefined;
          throw err;
        });
    const config = cached?.config ?? { ...stage.config, created: this.created };
    let result = cached
      ? { manifestDigest: cached.manifestDigest, imageId: cached.manifest.config.digest }
      : await this.save(stage, finalRef, [], config);
    const references: string[] = [];
    for (const tag of this.o.tags) {
      result = await this.save(stage, tag, [], config);
      references.push(parseReference(tag).text);
    }
    return { ...result, references };
  }
}

function summary(ins: Instruction): string {
  switch (ins.kind) {
    case "FROM":
      return `${ins.image}${ins.stage ? ` AS ${ins.stage}` : ""}`;
    case "RUN":
    case "CMD":
    case "ENTRYPOINT":
      return "exec" in ins.command ? JSON.stringify(ins.command.exec) : ins.command.shell;
    case "COPY":
    case "ADD":
      return `${ins.from ? `--from=${ins.from} ` : ""}${ins.sources.join(" ")} ${ins.dest}`;
    case "ENV":
    case "LABEL":
      return ins.pairs.map(([k, v]) => `${k}=${v}`).join(" ");
    case "ARG":
      return ins.args.map((a) => (a.value !== undefined ? `${a.name}=${a.value}` : a.name)).join(" ");
    case "WORKDIR":
    case "USER":
    case "STOPSIGNAL":
    case "MAINTAINER":
      return ins.value;
    case "EXPOSE":
    case "VOLUME":
      return ins.values.join(" ");
    case "SHELL":
      return JSON.stringify(ins.shell);
    case "HEALTHCHECK":
      return ins.test.join(" ");
  }
}

function envMap(env: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const e of env) {
    const eq = e.indexOf("=");
    if (eq > 0) map.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return map;
}

function healthOptions(options: Record<string, string>, where: string): Record<string, number> {
  const out: Record<string, number> = {};
  const names: Record<string, string> = {
    interval: "Interval",
    timeout: "Timeout",
    "start-period": "StartPeriod",
    "start-interval": "StartInterval",
  };
  for (const [k, v] of Object.entries(options)) {
    if (k === "retries") {
      if (!/^\d+$/.test(v))
        throw new BuildError("Invalid", `${where}: HEALTHCHECK --retries=${v}: must be a whole number`);
      out.Retries = Number(v);
      continue;
    }
    const m = /^(\d+)(ms|s|m|h)$/.exec(v);
    if (!m)
      throw new BuildError("Invalid", `${where}: HEALTHCHECK --${k}=${v}: must be a duration such as 30s`);
    const scale = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2] as "ms" | "s" | "m" | "h"];
    out[names[k]!] = Number(m[1]) * scale;
  }
  return out;
}

async function ownerIn(root: string, chown: string, where: string): Promise<{ uid: number; gid: number }> {
  const { user, group } = splitImageUser(chown);
  if (isNumericId(user) && (group === undefined || isNumericId(group))) {
    return { uid: Number(user), gid: Number(group ?? user) };
  }
  try {
    const accounts = await readAccounts(root);
    const found = lookupUser(accounts, user);
    return { uid: found.uid, gid: group !== undefined ? lookupGroup(accounts, group) : found.gid };
  } catch (err) {
    throw new BuildError("Invalid", `${where}=${chown}: ${(err as Error).message}`);
  }
}

async function isDirIn(root: string, path: string): Promise<boolean> {
  const host = await resolveInRoot(root, path);
  return (
    host !== undefined &&
    (await stat(host).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  );
}

/** A local tar archive ADD unpacks: gzip, or a plain tar (`ustar` at offset 257). */
async function isArchive(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const head = Buffer.alloc(263);
    const { bytesRead } = await fh.read(head, 0, 263, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
    return bytesRead === 263 && head.subarray(257, 262).toString("latin1") === "ustar";
  } finally {
    await fh.close();
  }
}

/** Unpacks the archive into a fresh dir with the image store's checks, then copies it into `dest`. */
async function addArchive(
  archive: string,
  root: string,
  dest: string,
  dir: string,
  where: string,
): Promise<void> {
  const out = await mkdtemp(join(dir, "add-"));
  const { failure } = await extractChecked({
    path: archive,
    dir: out,
    maxBytes: 10 * 1024 ** 3,
    what: `${where}: archive`,
    whiteouts: false,
    tarOptions: ["--numeric-owner", "--same-owner", "--same-permissions"],
  });
  if (failure !== undefined) throw new BuildError("Invalid", `${where}: ${failure}`);
  await mkdirInRoot(root, dest);
  for (const name of (await readdir(out)).sort())
    await copyIntoRoot(join(out, name), root, posix.join(dest, name), {});
}
