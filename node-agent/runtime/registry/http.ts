/**
 * One HTTP exchange with a registry over node:http/node:https: a per-CA keep-alive agent, an idle
 * timeout that covers waiting for headers and every pause while the body streams (so a registry
 * that accepts and never answers fails as `Timeout`, not a hang), and bounded body reads.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import type { Readable } from "node:stream";
import { rootCertificates } from "node:tls";
import { RegistryError, type RegistryErrorContext } from "./errors.js";

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable | undefined;
  /** PEM CA certificates trusted besides the system's. */
  ca?: string | undefined;
  /** Milliseconds without any progress before the exchange fails as `Timeout`. */
  idleTimeoutMs: number;
  /** Names the image the request is about, for errors. */
  context: RegistryErrorContext;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body; the caller must consume or destroy it. */
  body: IncomingMessage;
  url: string;
}

const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgents = new Map<string, https.Agent>();

function agentFor(url: URL, ca: string | undefined): http.Agent {
  if (url.protocol === "http:") return httpAgent;
  const key = ca ?? "";
  let agent = httpsAgents.get(key);
  if (!agent) {
    agent = new https.Agent({
      keepAlive: true,
      ...(ca !== undefined ? { ca: [...rootCertificates, ca] } : {}),
    });
    httpsAgents.set(key, agent);
  }
  return agent;
}

/** Sends `req` and resolves with the response head; network failures become typed errors. */
export function send(req: HttpRequest): Promise<HttpResponse> {
  const url = new URL(req.url);
  const transport = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const out = transport.request(url, {
      method: req.method,
      headers: req.headers ?? {},
      agent: agentFor(url, req.ca),
    });
    let response: IncomingMessage | undefined;
    out.setTimeout(req.idleTimeoutMs, () => {
      const err = new RegistryError(
        "Timeout",
        `${req.method} ${req.url}: no ${response ? "progress" : "answer"} from the registry for ${req.idleTimeoutMs} ms`,
        req.context,
      );
      // The reader of a stalled body sees the timeout itself, not a bare "aborted".
      response?.destroy(err);
      out.destroy(err);
    });
    out.once("error", (err) => reject(networkError(err, `${req.method} ${req.url}`, req.context)));
    out.once("response", (res) => {
      response = res;
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url: req.url });
    });
    if (req.body === undefined) out.end();
    else if (Buffer.isBuffer(req.body)) out.end(req.body);
    else {
      const body = req.body;
      body.once("error", (err) => out.destroy(err));
      // A failed request must not leave the body (an open file) behind.
      out.once("close", () => body.destroy());
      body.pipe(out);
    }
  });
}

/** A network failure as a typed error (timeouts stay timeouts). */
export function networkError(err: unknown, what: string, context: RegistryErrorContext): RegistryError {
  if (err instanceof RegistryError) return err;
  const e = err as NodeJS.ErrnoException;
  const detail = e.code !== undefined ? `${e.code} ${e.message}` : e.message;
  return new RegistryError("Unavailable", `${what}: ${detail}`, context, { cause: err });
}

/** Reads the whole body, failing as `TooLarge` past `limit` bytes. */
export async function readBody(
  res: HttpResponse,
  limit: number,
  context: RegistryErrorContext,
): Promise<Buffer> {
  const declared = Number(res.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    res.body.destroy();
    throw new RegistryError(
      "TooLarge",
      `${res.url}: answer of ${declared} bytes is over the limit of ${limit}`,
      context,
    );
  }
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        res.body.destroy();
        throw new RegistryError(
          "TooLarge",
          `${res.url}: answer is over the limit of ${limit} bytes`,
          context,
        );
      }
      parts.push(chunk);
    }
  } catch (err) {
    throw networkError(err, `reading ${res.url}`, context);
  }
  return Buffer.concat(parts);
}

/** Discards a body so the connection can be reused. */
export function drain(res: HttpResponse): void {
  res.body.resume();
}
