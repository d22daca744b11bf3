/**
 * The distribution API (v2) for one repository: requests go to the registry's mirrors in order and
 * then to the registry itself (pushes only to the registry), answer 401 challenges once through the
 * {@link Authorizer}, follow redirects for blob downloads (dropping credentials when the host
 * changes), and turn error answers into {@link RegistryError}s carrying the registry's error code.
 * Blob downloads resume with a `Range` request when the connection is cut mid-body.
 */
import { Readable } from "node:stream";
import { sha256Digest } from "../images/digest.js";
import type { Descriptor } from "../images/oci.js";
import { Authorizer } from "./auth.js";
import type { Credentials } from "./docker-config.js";
import { codeForStatus, RegistryError, type RegistryErrorContext } from "./errors.js";
import { drain, type HttpResponse, networkError, readBody, send } from "./http.js";
import { type Endpoint, endpointsFor, type RegistryConfig } from "./registry-config.js";

export interface ClientOptions {
  config?: RegistryConfig;
  /** Credentials for a registry host (`docker.io`, `127.0.0.1:5000`), if any. */
  credentials?: (registry: string) => Credentials | undefined;
  /** Token cache shared between clients; one is made per client when not given. */
  authorizer?: Authorizer;
  /** Milliseconds without progress (no answer, or a stalled body) before `Timeout`. Default 30 s. */
  idleTimeoutMs?: number;
  /** Times a blob download continues after its connection is cut. Default 3. */
  resumeAttempts?: number;
}

export interface Manifest {
  mediaType: string;
  digest: string;
  body: Buffer;
}

interface RegistryRequest {
  method: string;
  /** Beneath `/v2/<repository>`: `/manifests/v1`. */
  path: string;
  /** An upload's `Location` (absolute, or relative to the registry); used instead of `path`. */
  location?: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** Statuses that are success; anything else throws. */
  ok: number[];
  /** Push requests go only to the registry itself, with a pull,push token. */
  push?: boolean;
  /** Extra token scopes (a cross-repository mount's source). */
  extraScopes?: string[];
  reference?: string;
}

export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** Manifests and indexes larger than this are refused (containerd uses the same bound). */
export const MANIFEST_LIMIT = 4 << 20;
const MAX_REDIRECTS = 5;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export class RegistryClient {
  readonly endpoints: Endpoint[];
  private readonly authorizer: Authorizer;
  private readonly idleTimeoutMs: number;
  private readonly resumeAttempts: number;
  /** Index of the endpoint that last answered, tried first next time. */
  private preferred = 0;

  constructor(
    readonly registry: string,
    readonly repository: string,
    options: ClientOptions = {},
  ) {
    this.endpoints = endpointsFor(registry, options.config);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.resumeAttempts = options.resumeAttempts ?? 3;
    this.authorizer =
      options.authorizer ?? new Authorizer(options.credentials ?? (() => undefined), this.idleTimeoutMs);
  }

  context(reference?: string): RegistryErrorContext {
    return {
      registry: this.registry,
      repository: this.repository,
      ...(reference !== undefined ? { reference } : {}),
    };
  }

  /** The URL of `path` (beneath `/v2/<repository>`) at the endpoint that last answered. */
  url(path: string): string {
    return `${this.endpoints[this.preferred]!.base}/v2/${this.repository}${path}`;
  }

  /** `registry/repository:tag` or `registry/repository@digest`, for messages. */
  name(reference: string): string {
    return `${this.registry}/${this.repository}${DIGEST.test(reference) ? "@" : ":"}${reference}`;
  }

  /**
   * Fetches a manifest or index by tag or digest. The digest is computed from the bytes; when
   * `reference` is a digest they must match it (`DigestMismatch`).
   */
  async getManifest(reference: string): Promise<Manifest> {
    const res = await this.request({
      method: "GET",
      path: `/manifests/${reference}`,
      headers: { Accept: MANIFEST_ACCEPT },
      ok: [200],
      reference,
    });
    const body = await readBody(res, MANIFEST_LIMIT, this.context(reference));
    const digest = sha256Digest(body);
    if (DIGEST.test(reference) && digest !== reference) {
      throw new RegistryError(
        "DigestMismatch",
        `${this.name(reference)} from ${res.url}: manifest content is ${digest}`,
        this.context(reference),
      );
    }
    const header = String(res.headers["content-type"] ?? "")
      .split(";")[0]!
      .trim();
    let mediaType = header;
    if (mediaType === "" || mediaType === "application/json" || mediaType === "text/plain") {
      mediaType = sniffMediaType(body);
    }
    return { mediaType, digest, body };
  }

  /** Reads a small blob whole, refusing it over `limit` bytes or when it does not match its digest. */
  async readBlob(desc: Descriptor, limit: number): Promise<Buffer> {
    const ctx = this.context(desc.digest);
    if (desc.size > limit) {
      throw new RegistryError(
        "TooLarge",
        `${this.name(desc.digest)}: blob of ${desc.size} bytes is over the limit of ${limit}`,
        ctx,
      );
    }
    const parts: Buffer[] = [];
    for await (const chunk of this.openBlob(desc)) parts.push(chunk as Buffer);
    const body = Buffer.concat(parts);
    const digest = sha256Digest(body);
    if (digest !== desc.digest || body.length !== desc.size) {
      throw new RegistryError(
        "DigestMismatch",
        `${this.name(desc.digest)}: content is ${digest} (${body.length} bytes), expected ${desc.size} bytes`,
        ctx,
      );
    }
    return body;
  }

  /**
   * Streams blob `desc`, continuing with a Range request (up to `resumeAttempts` times) when the
   * connection is cut, and failing as soon as the registry sends more bytes than `desc.size`. The
   * bytes are not verified here; the blob store hashes them.
   */
  openBlob(desc: Descriptor): Readable {
    const ctx = this.context(desc.digest);
    const what = `blob ${desc.digest} of ${this.registry}/${this.repository}`;
    const self = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      let offset = 0;
      let resumes = 0;
      let final: RegistryError | undefined;
      for (;;) {
        let res: HttpResponse | undefined;
        try {
          res = await self.request({
            method: "GET",
            path: `/blobs/${desc.digest}`,
            headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
            ok: offset > 0 ? [200, 206] : [200],
            reference: desc.digest,
          });
          const range = String(res.headers["content-range"] ?? "");
          if (offset > 0 && (res.status !== 206 || !range.startsWith(`bytes ${offset}-`))) {
            res.body.destroy();
            final = new RegistryError(
              "Unavailable",
              `${what}: cut at byte ${offset} and the registry cannot resume from there ` +
                `(HTTP ${res.status}, Content-Range "${range}")`,
              ctx,
            );
            throw final;
          }
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            offset += chunk.length;
            if (offset > desc.size) {
              res.body.destroy();
              throw new RegistryError(
                "TooLarge",
                `${what} from ${res.url}: more than the ${desc.size} bytes its descriptor says`,
                ctx,
              );
            }
            yield chunk;
          }
          if (offset === desc.size) return;
          throw new RegistryError(
            "Unavailable",
            `${what} from ${res.url}: ended at byte ${offset} of ${desc.size}`,
            ctx,
          );
        } catch (err) {
          const e = networkError(err, `${what}${res !== undefined ? ` from ${res.url}` : ""}`, ctx);
          // A stall is retried only after progress, so a registry that never answers fails once.
          const retriable = e.code === "Unavailable" || (e.code === "Timeout" && offset > 0);
          if (!retriable || resumes >= self.resumeAttempts || e === final) {
            throw e;
          }
          resumes++;
        }
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  /** Sends a request to the first endpoint that answers it, as described in the file comment. */
  async request(req: RegistryRequest): Promise<HttpResponse> {
    const candidates = req.push ? [this.endpoints.length - 1] : this.order();
    let lastError: RegistryError | undefined;
    for (const i of candidates) {
      const endpoint = this.endpoints[i]!;
      try {
        const res = await this.exchange(endpoint, req);
        if (!req.ok.includes(res.status)) throw await this.statusError(res, req);
        this.preferred = i;
        return res;
      } catch (err) {
        lastError = networkError(
          err,
          `${req.method} ${endpoint.base}/v2/${this.repository}${req.path}`,
          this.context(req.reference),
        );
        // A mirror that lacks the content or is down is skipped; the registry's answer is final.
        if (!endpoint.mirror) throw lastError;
      }
    }
    throw lastError!;
  }

  private order(): number[] {
    const all = this.endpoints.map((_, i) => i);
    return [this.preferred, ...all.filter((i) => i !== this.preferred)];
  }

  private async exchange(endpoint: Endpoint, req: RegistryRequest): Promise<HttpResponse> {
    const scopes = [
      `repository:${this.repository}:${req.push ? "pull,push" : "pull"}`,
      ...(req.extraScopes ?? []),
    ];
    const ctx = this.context(req.reference);
    let auth = this.authorizer.cached(endpoint, scopes);
    const url =
      req.location !== undefined
        ? new URL(req.location, endpoint.base).toString()
        : `${endpoint.base}/v2/${this.repository}${req.path}`;
    // Credentials go only to the registry's own origin, wherever a Location points.
    const ownOrigin = new URL(url).origin === new URL(endpoint.base).origin;
    for (let attempt = 0; ; attempt++) {
      const headers = { ...req.headers, ...(auth !== undefined && ownOrigin ? { Authorization: auth } : {}) };
      const res = await send({
        method: req.method,
        url,
        headers,
        body: req.body,
        ca: endpoint.ca,
        idleTimeoutMs: this.idleTimeoutMs,
        context: ctx,
      });
      // Only a body that can be sent again is retried; streamed uploads run after auth is settled.
      if (res.status === 401 && attempt === 0 && !(req.body instanceof Readable)) {
        drain(res);
        auth = await this.authorizer.authorize(
          endpoint,
          headerText(res.headers["www-authenticate"]),
          scopes,
          ctx,
        );
        continue;
      }
      return this.followRedirects(res, endpoint, req, auth);
    }
  }

  private async followRedirects(
    first: HttpResponse,
    endpoint: Endpoint,
    req: RegistryRequest,
    auth: string | undefined,
  ): Promise<HttpResponse> {
    let res = first;
    for (
      let hops = 0;
      [301, 302, 303, 307, 308].includes(res.status) && (req.method === "GET" || req.method === "HEAD");
      hops++
    ) {
      const location = headerText(res.headers.location);
      drain(res);
      if (location === undefined || hops >= MAX_REDIRECTS) {
        throw new RegistryError(
          "BadResponse",
          `${res.url}: redirect ${location === undefined ? "without a Location" : `chain longer than ${MAX_REDIRECTS}`}`,
          this.context(req.reference),
        );
      }
      const next = new URL(location, res.url);
      const headers = { ...req.headers };
      // Blob storage behind a redirect (S3, a CDN) gets no registry credentials.
      if (next.origin === new URL(endpoint.base).origin && auth !== undefined) headers.Authorization = auth;
      res = await send({
        method: req.method,
        url: next.toString(),
        headers,
        ca: endpoint.ca,
        idleTimeoutMs: this.idleTimeoutMs,
        context: this.context(req.reference),
      });
    }
    return res;
  }

  private async statusError(res: HttpResponse, req: RegistryRequest): Promise<RegistryError> {
    let detail = "";
    let registryCode: string | undefined;
    if (req.method !== "HEAD") {
      try {
        const body = JSON.parse((await readBody(res, 64 << 10, {})).toString("utf8")) as {
          errors?: { code?: unknown; message?: unknown }[];
        };
        const first = body.errors?.[0];
        if (typeof first?.code === "string") registryCode = first.code;
        if (first !== undefined) detail = ` ${String(first.code ?? "")}: ${String(first.message ?? "")}`;
      } catch {
        // Not a distribution error body; the status says enough.
      }
    } else {
      drain(res);
    }
    const target =
      req.reference !== undefined ? this.name(req.reference) : `${this.registry}/${this.repository}`;
    const refused = res.status === 401 ? " (credentials refused or missing)" : "";
    return new RegistryError(
      codeForStatus(res.status),
      `${req.method} ${target} at ${res.url}: HTTP ${res.status}${detail}${refused}`,
      {
        ...this.context(req.reference),
        status: res.status,
        ...(registryCode !== undefined ? { registryCode } : {}),
      },
    );
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The media type a manifest declares in its body, for registries that answer a generic type. */
function sniffMediaType(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { mediaType?: unknown; manifests?: unknown };
    if (typeof parsed.mediaType === "string") return parsed.mediaType;
    return Array.isArray(parsed.manifests)
      ? "application/vnd.oci.image.index.v1+json"
      : "application/vnd.oci.image.manifest.v1+json";
  } catch {
    return "";
  }
}
