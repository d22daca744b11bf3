/**
 * Decides, entry by entry, what of a tar archive may be written into a fresh directory, so that
 * nothing it writes, links or removes lands outside that directory. The directory starts empty
 * and only this archive writes to it, so a model of what the archive has made so far stands in
 * for the disk (the lstat walk from the root that containerd's `securejoin` does): a name is
 * refused when it is absolute, climbs out with `..`, or passes through anything but a directory
 * made by the archive (a symlink above all: `a -> /` then `a/etc/x`). Hard links must point at a
 * file or symlink the archive made before. Whiteouts (`.wh.NAME`, `.wh..wh..opq`) are taken out
 * of the stream and returned to the caller, with the same checks on the path they hide.
 *
 * Device nodes and FIFOs are skipped, not refused: images carry them (old base images ship a
 * populated /dev), but a container never needs them from its image (the runtime makes /dev on a
 * tmpfs of its own), and a device node in a layer dir is a handle on a host device for anything
 * on the node that opens it. containerd skips device nodes the same way when it unpacks inside a
 * user namespace. A FIFO carries nothing in a layer (programs make theirs at run time), and one in
 * a layer dir blocks whatever on the node opens it to read, so it goes too.
 */
import type { TarReadEntry } from "./tar-reader.js";

export const WHITEOUT = ".wh.";
export const OPAQUE = ".wh..wh..opq";

export class UnsafeEntryError extends Error {
  constructor(
    /** The entry's name as written in the archive. */
    readonly entry: string,
    readonly reason: string,
  ) {
    super(`entry "${entry}": ${reason}`);
    this.name = "UnsafeEntryError";
  }
}

export type EntryDecision =
  /** Write it, under `path` (normalised), linking to `linkPath` (normalised) for hard links. */
  | { action: "write"; path: string; linkPath?: string }
  /** Leave it out; `why` is for the trace. */
  | { action: "skip"; why: string }
  /** Hide `path` of the lower layers (a whiteout file). */
  | { action: "whiteout"; path: string }
  /** Hide everything of the lower layers beneath directory `path` (`""` is the layer root). */
  | { action: "opaque"; path: string };

type Made = "directory" | "file" | "symlink" | "skipped" | "whiteout";

/**
 * `name` relative to the root with `.` and empty parts dropped and `..` resolved; throws when it
 * is absolute or climbs above the root. `""` is the root itself.
 */
export function normaliseName(name: string, what = "name", entry = name): string {
  if (name.includes("\0")) throw new UnsafeEntryError(entry, `${what} contains a NUL byte`);
  if (name.startsWith("/")) throw new UnsafeEntryError(entry, `${what} is an absolute path`);
  const parts: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0)
        throw new UnsafeEntryError(entry, `${what} climbs out of the layer through ".."`);
      parts.pop();
    } else parts.push(part);
  }
  return parts.join("/");
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

export class LayerEntryPolicy {
  private readonly made = new Map<string, Made>();

  /** `whiteouts`: treat `.wh.*` names as whiteouts (image layers) or as plain files (archives). */
  constructor(private readonly whiteouts: boolean) {}

  decide(entry: TarReadEntry): EntryDecision {
    const path = normaliseName(entry.name);
    const base = path.slice(path.lastIndexOf("/") + 1);
    if (this.whiteouts && base.startsWith(WHITEOUT)) return this.whiteout(entry, path, base);
    if (path === "") {
      if (entry.type !== "directory")
        throw new UnsafeEntryError(entry.name, `a ${entry.type} at the layer root`);
      return { action: "write", path };
    }
    this.checkParents(entry.name, path);
    const existing = this.made.get(path);
    if (existing === "whiteout") throw new UnsafeEntryError(entry.name, "written after its own whiteout");
    if (existing === "symlink" && entry.type === "directory") {
      // GNU tar would keep the symlink and treat it as the directory, writing through it later.
      throw new UnsafeEntryError(entry.name, "a directory over a symlink of the same name");
    }
    switch (entry.type) {
      case "char-device":
      case "block-device":
      case "fifo":
        this.record(path, "skipped");
        return { action: "skip", why: `${entry.type} (the runtime makes /dev itself)` };
      case "hardlink":
        return this.hardlink(entry, path);
      default:
        this.record(
          path,
          entry.type === "directory" ? "directory" : entry.type === "symlink" ? "symlink" : "file",
        );
        return { action: "write", path };
    }
  }

  private hardlink(entry: TarReadEntry, path: string): EntryDecision {
    const target = normaliseName(entry.linkName, "hard link target", entry.name);
    if (target === "") throw new UnsafeEntryError(entry.name, "hard link to the layer root");
    this.checkParents(entry.name, target);
    const kind = this.made.get(target);
    if (kind === "skipped") {
      this.record(path, "skipped");
      return { action: "skip", why: `hard link to skipped ${target}` };
    }
    if (kind !== "file" && kind !== "symlink") {
      throw new UnsafeEntryError(
        entry.name,
        kind === undefined
          ? `hard link to "${entry.linkName}", which is not a file earlier in the layer`
          : `hard link to the ${kind} "${entry.linkName}"`,
      );
    }
    this.record(path, kind);
    return { action: "write", path, linkPath: target };
  }

  private whiteout(entry: TarReadEntry, path: string, base: string): EntryDecision {
    const dir = parentOf(path);
    this.checkParents(entry.name, path);
    if (base === OPAQUE) return { action: "opaque", path: dir };
    // Other `.wh..wh.*` names are aufs bookkeeping with no meaning for overlayfs.
    if (base.startsWith(`${WHITEOUT}${WHITEOUT}`)) return { action: "skip", why: "aufs bookkeeping" };
    const hidden = base.slice(WHITEOUT.length);
    if (hidden === "" || hidden === "." || hidden === "..") {
      throw new UnsafeEntryError(entry.name, `whiteout of "${hidden}" names no file inside the layer`);
    }
    const target = dir === "" ? hidden : `${dir}/${hidden}`;
    // The whiteout replaces whatever the layer made there once unpacking ends; nothing may be
    // written at or beneath it afterwards (nor linked to from there).
    this.made.set(target, "whiteout");
    return { action: "whiteout", path: target };
  }

  /** Every proper ancestor of `path` must be absent (made as a directory on the way) or a directory. */
  private checkParents(name: string, path: string): void {
    for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
      const ancestor = path.slice(0, i);
      const kind = this.made.get(ancestor);
      if (kind === undefined) this.made.set(ancestor, "directory");
      else if (kind !== "directory") {
        throw new UnsafeEntryError(
          name,
          kind === "symlink"
            ? `its parent "${ancestor}" is a symlink in the layer; writing through it could leave the layer`
            : `its parent "${ancestor}" is not a directory`,
        );
      }
    }
  }

  private record(path: string, kind: Made): void {
    if (this.made.get(path) === "directory" && kind !== "directory") {
      for (const p of this.made.keys()) if (p.startsWith(`${path}/`)) this.made.delete(p);
    }
    this.made.set(path, kind);
  }
}
