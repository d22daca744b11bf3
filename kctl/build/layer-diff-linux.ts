/**
 * A build step's snapshot diff as an OCI layer: the upper dir of the step's overlay, read by GNU
 * tar (sorted names, numeric owners, xattrs), turned into what the image spec says a layer holds.
 * overlayfs marks a deletion with a 0:0 character device and a directory replaced as a whole with
 * the `trusted.overlay.opaque` xattr; these become `.wh.NAME` and `.wh..wh..opq` entries, and
 * overlayfs's own xattrs are dropped. With an epoch (SOURCE_DATE_EPOCH), no mtime is later than
 * it, so two builds of the same inputs give the same bytes.
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { HashingStream } from "../../node-agent/runtime/images/digest.js";
import { type TarReadEntry, TarReader } from "../../node-agent/runtime/images/tar-reader.js";
import {
  END_OF_ARCHIVE,
  entryHeader,
  padding,
  type TarEntry,
} from "../../node-agent/runtime/images/tar-writer.js";
import { BuildError } from "./errors.js";

export interface LayerBlob {
  /** The gzip-compressed layer file. */
  path: string;
  /** sha256 of the compressed bytes: the layer's descriptor digest. */
  digest: string;
  /** sha256 of the uncompressed tar: the config's diff_id. */
  diffId: string;
  size: number;
}

const OPAQUE = "trusted.overlay.opaque";

/** Writes the layer of `upper` to `out` (gzip); `epoch` in seconds clamps mtimes. */
export async function diffToLayer(upper: string, out: string, epoch: number | undefined): Promise<LayerBlob> {
  const tar = spawn(
    "tar",
    [
      "-C",
      upper,
      "--sort=name",
      "--numeric-owner",
      "--format=pax",
      "--xattrs",
      "--xattrs-include=*",
      "-cf",
      "-",
      ".",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const stderr: Buffer[] = [];
  tar.stderr.on("data", (d: Buffer) => stderr.push(d));
  const exited = new Promise<number>((resolve, reject) => {
    tar.once("error", (err) =>
      reject(new BuildError("SystemError", `layer of ${upper}: cannot run tar: ${err.message}`)),
    );
    tar.once("close", (code) => resolve(code ?? 1));
  });
  const tarHash = new HashingStream();
  const gzHash = new HashingStream();
  await pipeline(
    Readable.from(layerEntries(new TarReader(tar.stdout), epoch)),
    tarHash,
    createGzip(),
    gzHash,
    createWriteStream(out, { flags: "wx" }),
  );
  const code = await exited;
  if (code !== 0) {
    throw new BuildError(
      "SystemError",
      `layer of ${upper}: tar exited ${code}: ${Buffer.concat(stderr).toString().trim()}`,
    );
  }
  return { path: out, digest: gzHash.digest(), diffId: tarHash.digest(), size: gzHash.size };
}

async function* layerEntries(reader: TarReader, epoch: number | undefined): AsyncGenerator<Buffer> {
  const mtime = (t: number) => (epoch !== undefined && t > epoch ? epoch : t);
  for (let entry = await reader.next(); entry !== undefined; entry = await reader.next()) {
    const path = relative(entry.name);
    if (path === "") continue;
    const base = { mode: 0, uid: 0, gid: 0, mtime: mtime(entry.mtime) };
    if (entry.type === "char-device" && entry.devMajor === 0 && entry.devMinor === 0) {
      yield entryHeader({ ...base, type: "file", path: sibling(path, `.wh.${basename(path)}`), size: 0 });
      continue;
    }
    const header: TarEntry = {
      path,
      type: entry.type,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      mtime: mtime(entry.mtime),
      xattrs: keptXattrs(entry),
    };
    if (entry.type === "symlink") header.linkPath = entry.linkName;
    if (entry.type === "hardlink") header.linkPath = relative(entry.linkName);
    if (entry.type === "char-device" || entry.type === "block-device") {
      header.major = entry.devMajor;
      header.minor = entry.devMinor;
    }
    if (entry.type === "file") {
      header.size = entry.size;
      yield entryHeader(header);
      yield* reader.data();
      yield padding(entry.size);
    } else {
      yield entryHeader(header);
    }
    if (entry.type === "directory" && entry.xattrs.get(OPAQUE)?.toString() === "y") {
      yield entryHeader({ ...base, type: "file", path: `${path}/.wh..wh..opq`, size: 0 });
    }
  }
  yield END_OF_ARCHIVE;
}

function keptXattrs(entry: TarReadEntry): Map<string, Buffer> {
  return new Map([...entry.xattrs].filter(([k]) => !k.startsWith("trusted.overlay.")));
}

/** `./a/b/` → `a/b` */
function relative(name: string): string {
  return name.replace(/^\.\/?/, "").replace(/\/+$/, "");
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function sibling(path: string, name: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? name : `${path.slice(0, slash)}/${name}`;
}
