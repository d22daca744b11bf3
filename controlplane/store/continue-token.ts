/**
 * The `continue` token of a paged list, in upstream's form: base64 of
 * `{"v":"meta.k8s.io/v1","rv":<revision>,"start":"<key>"}`, where `start` is the key the next page
 * begins at, relative to the list's range prefix, so a token can only ever move a list forward
 * within its own range. The revision pins every page to the first page's snapshot.
 */
import { ApiError } from "../../foundation/api/errors.js";

export interface ContinuePoint {
  /** The etcd revision every page is read at. */
  revision: number;
  /** The next key to read, relative to the range prefix. */
  start: string;
}

const version = "meta.k8s.io/v1";

export function encodeContinue(point: ContinuePoint): string {
  return Buffer.from(JSON.stringify({ v: version, rv: point.revision, start: point.start })).toString(
    "base64url",
  );
}

const invalid = (why: string) => new ApiError("BadRequest", `continue key is not valid: ${why}`);

/** Reads a token; BadRequest naming what is wrong when it is not one this server made. */
export function decodeContinue(token: string): ContinuePoint {
  let parsed: { v?: unknown; rv?: unknown; start?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalid("not base64-encoded JSON");
  }
  if (parsed?.v !== version) throw invalid(`version ${JSON.stringify(parsed?.v)} is not "${version}"`);
  if (typeof parsed.rv !== "number" || !Number.isInteger(parsed.rv) || parsed.rv < 1)
    throw invalid("rv is not a positive revision");
  if (typeof parsed.start !== "string" || parsed.start === "") throw invalid("start is not a key");
  // As upstream: a relative key may not climb out of the list's range.
  if (parsed.start.startsWith("/") || parsed.start.split("/").includes(".."))
    throw invalid(`start ${JSON.stringify(parsed.start)} is outside the list`);
  return { revision: parsed.rv, start: parsed.start };
}
