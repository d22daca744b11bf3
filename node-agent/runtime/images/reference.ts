/**
 * Image references normalised the way docker does, so `busybox`, `library/busybox`,
 * `docker.io/busybox` and `docker.io/library/busybox:latest` all name one image:
 * a domain is the first path component when it has a `.` or `:` or is `localhost`, else `docker.io`;
 * single-component names on docker.io get `library/`; no tag and no digest means `:latest`.
 */
import { ImageError } from "./errors.js";

export interface ImageReference {
  /** `docker.io/library/busybox` */
  repository: string;
  tag: string | undefined;
  /** `sha256:<hex>` when the reference pins a manifest digest. */
  digest: string | undefined;
  /** Canonical text: `repository:tag`, `repository@digest`, or `repository:tag@digest`. */
  text: string;
}

const DEFAULT_DOMAIN = "docker.io";
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Parses and normalises `ref`; throws `InvalidReference` naming it and what is wrong. */
export function parseReference(ref: string): ImageReference {
  const bad = (why: string) => new ImageError("InvalidReference", `image reference "${ref}": ${why}`);
  if (ref === "" || ref.length > 512) throw bad("must be 1 to 512 characters");
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`digest "${digest}" is not sha256:<64 lowercase hex>`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`tag "${tag}" is not valid (letters, digits, '_', '.', '-'; at most 128)`);
  }
  const parts = rest.split("/");
  let domain = DEFAULT_DOMAIN;
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    if (!DOMAIN.test(first)) throw bad(`registry "${first}" is not a host name`);
    domain = first === "index.docker.io" ? DEFAULT_DOMAIN : first;
    parts.shift();
  }
  for (const part of parts) {
    if (!COMPONENT.test(part)) {
      throw bad(
        `path component "${part}" must be lowercase letters and digits separated by '.', '_', '__' or '-'`,
      );
    }
  }
  if (domain === DEFAULT_DOMAIN && parts.length === 1) parts.unshift("library");
  if (tag === undefined && digest === undefined) tag = "latest";
  const repository = `${domain}/${parts.join("/")}`;
  const text = `${repository}${tag !== undefined ? `:${tag}` : ""}${digest !== undefined ? `@${digest}` : ""}`;
  return { repository, tag, digest, text };
}
