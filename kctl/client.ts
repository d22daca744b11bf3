/**
 * The API client kctl uses: Kubernetes REST paths built from the resource table, bearer token and
 * cluster CA from the config, JSON in and out, watches as NDJSON streams. Uses node:http(s) because
 * it must trust the cluster's own CA. Any non-2xx answer becomes `ApiError.fromStatus`; a server
 * that cannot be reached becomes a `CliError` naming the URL.
 */

import http from "node:http";
import https from "node:https";
import WebSocket from "ws";
import { ApiError, isApiError, reasonForCode, type Status } from "../foundation/api/errors.js";
import type { KubeObject } from "../foundation/api/object.js";
import type { ResourceInfo } from "../foundation/api/resources.js";
import type { WatchEvent } from "../foundation/api/watch.js";
import { tracer } from "../foundation/util/trace.js";
import type { ClusterAccess } from "./config.js";
import { CliError } from "./errors.js";

const trace = tracer("kctl");
const USER_AGENT = "kctl";

export interface ObjectList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string };
  items: KubeObject[];
}

export interface RequestOptions {
  /** Repeated parameters (exec's `command`) as arrays. */
  query?: Record<string, string | readonly string[] | undefined>;
  body?: unknown;
  contentType?: string;
  /** A body streamed as it is read (exec's stdin), instead of `body`. */
  bodyStream?: NodeJS.ReadableStream;
}

export interface WriteOptions {
  dryRun?: boolean;
}

// Option bags take `undefined` for "not given", as the flags they come from may be unset.
export interface ListOptions {
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
}

export interface DeleteOptions extends WriteOptions {
  propagationPolicy?: "Background" | "Foreground" | "Orphan";
  gracePeriodSeconds?: number;
  /** The delete applies only to the object with this uid (Conflict otherwise). */
  preconditions?: { uid: string };
}

export interface WatchOptions extends ListOptions {
  resourceVersion?: string | undefined;
}

export const mergePatchType = "application/merge-patch+json";

/** The URL path of a collection (no name) or an object, in a namespace or across all of them. */
export function resourcePath(info: ResourceInfo, namespace?: string, name?: string, sub?: string): string {
  let path = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  if (info.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${info.plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (sub) path += `/${sub}`;
  return path;
}

/** Errors that mean no connection to the server was made, so the request never reached it. */
const unreachable = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EHOSTDOWN"]);
/** With several servers, a connection not made in this long moves on to the next. */
const failoverConnectTimeoutMs = 3_000;

/** How long a pooled connection may sit idle: half the API server's keep-alive timeout. */
const IDLE_CONNECTION_MS = 60_000;

export class ApiClient {
  private readonly servers: URL[];
  /** The server that answered last: requests start there. */
  private current = 0;
  private readonly agent: http.Agent;

  constructor(
    private readonly access: ClusterAccess,
    private readonly signal?: AbortSignal,
  ) {
    this.servers = (access.servers?.length ? access.servers : [access.server]).map((s) => new URL(s));
    // A pooled connection left idle is closed here before the server would close it (120 s), so
    // a request never goes out on a connection the server is dropping at that moment.
    const pool = { keepAlive: true, timeout: IDLE_CONNECTION_MS };
    this.agent =
      this.servers[0]!.protocol === "https:"
        ? new https.Agent({
            ...pool,
            ...(access.caPem ? { ca: access.caPem } : {}),
            rejectUnauthorized: !access.insecureSkipTlsVerify,
          })
        : new http.Agent(pool);
  }

  /** Frees pooled connections so the process can exit. */
  close(): void {
    this.agent.destroy();
  }

  /** The server requests go to now (it moves when one cannot be reached). */
  get server(): string {
    return this.servers[this.current]!.origin;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    const text = await readBody(res);
    const code = res.statusCode ?? 0;
    if (code < 200 || code >= 300) throw errorFromResponse(code, text, method, path);
    if (text === "") return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(`${method} ${path}: the server sent a body that is not JSON: ${text.slice(0, 200)}`);
    }
  }

  get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    return this.request("GET", resourcePath(info, namespace, name));
  }

  /** Lists in `namespace`, or across all namespaces when it is undefined. */
  list(info: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<ObjectList> {
    return this.request("GET", resourcePath(info, namespace), {
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector },
    });
  }

  create(info: ResourceInfo, namespace: string | undefined, obj: object, opts: WriteOptions = {}) {
    return this.request<KubeObject>("POST", resourcePath(info, namespace), {
      body: obj,
      query: dryRunQuery(opts),
    });
  }

  update(info: ResourceInfo, namespace: string | undefined, obj: KubeObject, opts: WriteOptions = {}) {
    return this.request<KubeObject>("PUT", resourcePath(info, namespace, obj.metadata.name ?? ""), {
      body: obj,
      query: dryRunQuery(opts),
    });
  }

  /** A JSON merge patch (RFC 7386): null deletes a field, objects merge, everything else replaces. */
  patch(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    patch: object,
    opts: WriteOptions = {},
  ) {
    return this.request<KubeObject>("PATCH", resourcePath(info, namespace, name), {
      body: patch,
      contentType: mergePatchType,
      query: dryRunQuery(opts),
    });
  }

  delete(info: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}) {
    const body: Record<string, unknown> = { apiVersion: "v1", kind: "DeleteOptions" };
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts.preconditions) body.preconditions = opts.preconditions;
    return this.request<unknown>("DELETE", resourcePath(info, namespace, name), {
      body,
      query: dryRunQuery(opts),
    });
  }

  /**
   * Streams changes from `opts.resourceVersion` on. Ends when the server closes the stream or the
   * client's signal aborts; an ERROR event (for example 410 Gone) is thrown as `ApiError`.
   */
  async *watch(
    info: ResourceInfo,
    namespace: string | undefined,
    opts: WatchOptions = {},
  ): AsyncGenerator<WatchEvent<KubeObject>> {
    const path = resourcePath(info, namespace);
    const res = await this.send("GET", path, {
      query: {
        watch: "true",
        resourceVersion: opts.resourceVersion,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
      },
    });
    const code = res.statusCode ?? 0;
    if (code < 200 || code >= 300) throw errorFromResponse(code, await readBody(res), "GET", path);
    let pending = "";
    try {
      for await (const chunk of res) {
        pending += chunk.toString("utf8");
        let nl = pending.indexOf("\n");
        while (nl >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          nl = pending.indexOf("\n");
          if (line === "") continue;
          const event = JSON.parse(line) as WatchEvent<KubeObject>;
          if (event.type === "ERROR") throw ApiError.fromStatus(event.object as unknown as Status, 500);
          yield event;
        }
      }
    } catch (err) {
      if (this.signal?.aborted) return;
      if ((err as NodeJS.ErrnoException).code === "ECONNRESET") return;
      throw err;
    } finally {
      res.destroy();
    }
  }

  /**
   * Opens a WebSocket on `path` (pods/exec, pods/portforward) offering `protocols`, with this
   * client's credentials and trust, to the current server; resolves once it is open. A refused
   * upgrade is thrown as the server's ApiError.
   */
  openWebSocket(
    path: string,
    query: RequestOptions["query"],
    protocols: readonly string[],
  ): Promise<WebSocket> {
    const base = this.servers[this.current]!;
    const url = this.url(base, path, query);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const headers: Record<string, string> = { "User-Agent": USER_AGENT };
    if (this.access.token) headers.Authorization = `Bearer ${this.access.token}`;
    const ws = new WebSocket(url, [...protocols], {
      headers,
      ...(this.access.caPem ? { ca: this.access.caPem } : {}),
      rejectUnauthorized: !this.access.insecureSkipTlsVerify,
    });
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(ws));
      ws.once("unexpected-response", (_req, res) => {
        void readBody(res).then((text) => reject(errorFromResponse(res.statusCode ?? 0, text, "GET", path)));
      });
      ws.once("error", (err: NodeJS.ErrnoException) =>
        reject(new CliError(connectionMessage(this.access, base.origin, err))),
      );
    });
  }

  private url(base: URL, path: string, query: RequestOptions["query"]): URL {
    const url = new URL(path, base);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (typeof v === "string" && v !== "") url.searchParams.set(k, v);
      else if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, item);
    }
    return url;
  }

  /**
   * Sends to the current server; when it cannot be reached (no connection made) and the config
   * lists others, to each next one in turn. The first that answers becomes current. A streamed
   * body cannot be replayed, so it goes to the current server only.
   */
  private async send(method: string, path: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    const tries = opts.bodyStream ? 1 : this.servers.length;
    for (let i = 0; ; i++) {
      const index = (this.current + i) % this.servers.length;
      try {
        const res = await this.sendTo(this.servers[index]!, method, path, opts);
        this.current = index;
        return res;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "";
        if (!unreachable.has(code) || i + 1 >= tries) {
          throw err instanceof CliError || (err as Error).name === "AbortError"
            ? err
            : new CliError(
                connectionMessage(this.access, this.servers[index]!.origin, err as NodeJS.ErrnoException),
              );
        }
        trace(`${this.servers[index]!.origin} unreachable (${code}); trying the next server`);
      }
    }
  }

  private sendTo(
    base: URL,
    method: string,
    path: string,
    opts: RequestOptions,
  ): Promise<http.IncomingMessage> {
    const url = this.url(base, path, opts.query);
    // Names kctl as the field manager of what it writes (server-side apply's managedFields).
    const headers: Record<string, string> = { Accept: "application/json", "User-Agent": USER_AGENT };
    if (this.access.token) headers.Authorization = `Bearer ${this.access.token}`;
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers["Content-Type"] = opts.contentType ?? "application/json";
      headers["Content-Length"] = String(payload.length);
    }
    const lib = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, {
        method,
        headers,
        agent: this.agent,
        ...(this.signal ? { signal: this.signal } : {}),
      });
      const started = performance.now();
      if (this.servers.length > 1) {
        // A host that is down (not just its apiserver) drops SYNs: give up on it and try the next.
        req.on("socket", (socket) => {
          if (!socket.connecting) return;
          const timer = setTimeout(
            () => req.destroy(Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" })),
            failoverConnectTimeoutMs,
          );
          socket.once("connect", () => clearTimeout(timer));
          socket.once("close", () => clearTimeout(timer));
        });
      }
      req.on("response", (res) => {
        trace(`${method} ${url.pathname}${url.search} -> ${res.statusCode}`, {
          ms: Math.round(performance.now() - started),
        });
        resolve(res);
      });
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (err.name === "AbortError") reject(new CliError("interrupted"));
        else reject(err);
      });
      if (opts.bodyStream) opts.bodyStream.pipe(req);
      else req.end(payload);
    });
  }

  /**
   * A streaming request (pods/log, pods/exec): resolves with the response once its status is known;
   * a non-2xx answer is thrown as the server's ApiError.
   */
  async stream(method: string, path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const res = await this.send(method, path, opts);
    const code = res.statusCode ?? 0;
    if (code < 200 || code >= 300) throw errorFromResponse(code, await readBody(res), method, path);
    return res;
  }
}

function dryRunQuery(opts: WriteOptions): Record<string, string | undefined> {
  return { dryRun: opts.dryRun ? "All" : undefined };
}

async function readBody(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Runs a read-modify-write again, from its read, when it lost to a concurrent writer (409
 * Conflict), up to `attempts` times in all.
 */
export async function retryOnConflict<T>(readModifyWrite: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readModifyWrite();
    } catch (err) {
      if (!isApiError(err, "Conflict") || attempt >= attempts) throw err;
    }
  }
}

function errorFromResponse(code: number, text: string, method: string, path: string): ApiError {
  try {
    const body = JSON.parse(text) as Partial<Status>;
    if (body && body.kind === "Status") return ApiError.fromStatus(body, code);
  } catch {
    // Not a Status: fall through to a message built from the raw answer.
  }
  const snippet = text.trim().slice(0, 200) || "(empty body)";
  return new ApiError(reasonForCode(code), `${method} ${path}: the server answered ${code}: ${snippet}`);
}

function connectionMessage(access: ClusterAccess, server: string, err: NodeJS.ErrnoException): string {
  const others =
    (access.servers?.length ?? 0) > 1 ? ` and the ${access.servers!.length - 1} other(s) it lists` : "";
  const where = `the server at ${server} (from ${access.path})${others}`;
  switch (err.code) {
    case "ECONNREFUSED":
      return `cannot connect to ${where}: connection refused; is "kctl up" running?`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot resolve the host of ${where}: ${err.message}`;
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `cannot verify the TLS certificate of ${where}: ${err.message}; check certificate-authority-data in the config`;
    default:
      return `cannot reach ${where}: ${err.message}`;
  }
}
