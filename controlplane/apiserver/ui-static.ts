/**
 * The web dashboard's static files under `/ui/`, from the directory `npm run build` writes
 * (`dist/ui`). They are served without credentials, like `/version`: they hold no cluster data, and
 * the page sends the user's bearer token with every API call, so RBAC decides what it sees. Only
 * files inside that directory are ever read.
 */
import { readFile, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, isAbsolute, relative, resolve } from "node:path";
import { ApiError } from "../../foundation/api/errors.js";

export const uiPrefix = "/ui/";

const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
};

/** True for `/ui` and everything under `/ui/`. */
export function isUiPath(pathname: string): boolean {
  return pathname === "/ui" || pathname.startsWith(uiPrefix);
}

/**
 * Answers a GET or HEAD under `/ui/` from `dir`. `/ui` redirects to `/ui/`, which is index.html.
 * Files under `assets/` carry a content hash in their name (Vite's), so browsers may keep them for
 * a year; index.html must be revalidated so a new build is seen at once. A path leaving `dir`, a
 * missing file or a directory is 404 naming the path; other methods are 405.
 */
export async function serveUi(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  dir: string,
): Promise<void> {
  const method = req.method ?? "GET";
  if (method !== "GET" && method !== "HEAD") {
    throw new ApiError("MethodNotAllowed", `the method ${method} is not supported on ${pathname}`);
  }
  if (pathname === "/ui") {
    res.writeHead(301, { Location: uiPrefix });
    res.end();
    return;
  }
  const file = fileFor(dir, pathname);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new ApiError("NotFound", `the dashboard has no file ${pathname}`);
  const body = await readFile(file);
  const ext = extname(file);
  const immutable = relative(dir, file).startsWith(`assets/`);
  res.writeHead(200, {
    "Content-Type": contentTypes[ext] ?? "application/octet-stream",
    "Content-Length": body.length,
    "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    "X-Content-Type-Options": "nosniff",
    // The page loads nothing from elsewhere and may not be framed (clickjacking of its buttons).
    "Content-Security-Policy":
      "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
  });
  res.end(method === "HEAD" ? undefined : body);
}

/**
 * The file a `/ui/...` path names inside `dir`; throws NotFound for one that leaves it (`..` sent
 * as `%2e%2e%2f` survives URL parsing as one segment, and decodes to a way out).
 */
function fileFor(dir: string, pathname: string): string {
  const rest = pathname.slice(uiPrefix.length);
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    throw new ApiError("NotFound", `the dashboard has no file ${pathname} (bad percent-encoding)`);
  }
  const root = resolve(dir);
  const file = resolve(root, decoded === "" ? "index.html" : decoded);
  const inside = relative(root, file);
  if (decoded.includes("\0") || inside.startsWith("..") || isAbsolute(inside)) {
    throw new ApiError("NotFound", `the dashboard has no file ${pathname}`);
  }
  return file;
}
