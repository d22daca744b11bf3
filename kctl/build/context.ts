/**
 * The build context: a directory, minus what `.dockerignore` excludes, and the sources a COPY or
 * ADD names in it (paths or globs, never outside the context). The content digest of what a step
 * reads is part of its cache key, so a changed file rebuilds from the first step that reads it.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join, posix } from "node:path";
import { resolveInRoot } from "../../node-agent/runtime/oci/image-user.js";
import { BuildError } from "./errors.js";

interface IgnoreRule {
  pattern: RegExp;
  exclude: boolean;
}

/** A source root (the context, or another stage's rootfs) and what is visible in it. */
export interface SourceTree {
  root: string;
  /** Visible paths relative to root (`a/b`), "" for the root itself. */
  visible(path: string): boolean;
  /** Every visible path, sorted; for glob matching. */
  paths(): Promise<string[]>;
}

/** `.dockerignore` of `dir` as rules; none when it is absent. */
export async function readDockerignore(dir: string): Promise<IgnoreRule[]> {
  const text = await readFile(join(dir, ".dockerignore"), "utf8").catch(() => "");
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const exclude = !line.startsWith("!");
    const cleaned = posix.normalize(`/${(exclude ? line : line.slice(1)).trim()}`).slice(1);
    if (cleaned === "") continue;
    rules.push({ pattern: globRegExp(cleaned), exclude });
  }
  return rules;
}

/** True when the last rule matching `path` or one of its parents excludes it (Docker's order). */
export function ignored(rules: readonly IgnoreRule[], path: string): boolean {
  const parts = path.split("/");
  let out = false;
  for (const rule of rules) {
    for (let i = 1; i <= parts.length; i++) {
      if (rule.pattern.test(parts.slice(0, i).join("/"))) {
        out = rule.exclude;
        break;
      }
    }
  }
  return out;
}

/** A glob of filepath.Match (`*`, `?`, `[...]`) plus `**` for any number of directories. */
export function globRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
      if (glob[i + 1] === "/") i++;
    } else if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, "^")
          .replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else if (ch === "\\" && i + 1 < glob.length) re += `\\${glob[++i]}`;
    else re += ch.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** The context directory with `.dockerignore` applied. */
export async function contextTree(dir: string): Promise<SourceTree> {
  const rules = await readDockerignore(dir);
  return tree(dir, (p) => p === "" || !ignored(rules, p));
}

/** Every entry under `root` (a rootfs of another stage), nothing hidden. */
export function plainTree(root: string): SourceTree {
  return tree(root, () => true);
}

function tree(root: string, visible: (path: string) => boolean): SourceTree {
  let listed: string[] | undefined;
  return {
    root,
    visible,
    async paths() {
      if (listed) return listed;
      const out: string[] = [];
      const walk = async (rel: string) => {
        for (const name of (await readdir(join(root, rel))).sort()) {
          const path = rel === "" ? name : `${rel}/${name}`;
          if (!visible(path)) continue;
          out.push(path);
          if ((await lstat(join(root, path))).isDirectory()) await walk(path);
        }
      };
      await walk("");
      listed = out;
      return out;
    },
  };
}

/**
 * The paths (relative to the tree's root) `source` names: itself, or every visible path its glob
 * matches. Throws `Invalid` naming `where` when nothing matches.
 */
export async function matchSource(tree: SourceTree, source: string, where: string): Promise<string[]> {
  const cleaned = posix.normalize(`/${source}`).slice(1).replace(/\/$/, "");
  if (/[*?[]/.test(cleaned)) {
    const re = globRegExp(cleaned);
    const found = (await tree.paths()).filter((p) => re.test(p));
    if (found.length === 0) throw new BuildError("Invalid", `${where}: no file matches "${source}"`);
    return found;
  }
  const host = await sourcePath(tree, cleaned);
  const exists =
    host !== undefined &&
    (await lstat(host).then(
      () => true,
      () => false,
    ));
  if (!exists || !tree.visible(cleaned)) {
    throw new BuildError(
      "Invalid",
      `${where}: "${source}" not found in ${tree.root}${exists ? " (excluded by .dockerignore)" : ""}`,
    );
  }
  return [cleaned];
}

/**
 * The host path of `rel` in the tree, every symlink on the way resolved inside its root (a stage's
 * rootfs is an image's: its `/etc -> /host/dir` must not make a COPY --from read the host);
 * undefined when a directory on the way is missing.
 */
export function sourcePath(tree: SourceTree, rel: string): Promise<string | undefined> {
  return resolveInRoot(tree.root, rel);
}

/** sha256 over names, types, modes, owners and contents of `paths` and everything visible beneath them. */
export async function contentDigest(tree: SourceTree, paths: readonly string[]): Promise<string> {
  const hash = createHash("sha256");
  const add = async (rel: string) => {
    const full = join(tree.root, rel);
    const st = await lstat(full);
    hash.update(`${rel}\0${st.mode}\0${st.uid}:${st.gid}\0`);
    if (st.isSymbolicLink()) hash.update(await readlink(full));
    else if (st.isFile()) for await (const chunk of createReadStream(full)) hash.update(chunk as Buffer);
    else if (st.isDirectory()) {
      for (const name of (await readdir(full)).sort()) {
        const child = rel === "" ? name : `${rel}/${name}`;
        if (tree.visible(child)) await add(child);
      }
    }
    hash.update("\0");
  };
  for (const p of paths) await add(p);
  return `sha256:${hash.digest("hex")}`;
}
