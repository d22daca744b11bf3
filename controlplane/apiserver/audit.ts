/**
 * The audit log, after upstream's (`--audit-log-path`, `audit.k8s.io/v1` Events as JSON lines):
 * one `ResponseComplete` event per authenticated request, saying who (user, groups, source IP,
 * user agent) did what (verb, object reference, URI), whether authorization allowed it and how it
 * ended (status code, and the Status of a failure). At level `Request` the request's body is
 * logged too (`requestObject`), except for Secrets, ConfigMaps and token requests, which stay at
 * `Metadata` so credentials never reach the log (upstream's recommended policy does the same).
 * Health and version probes and watches' bookmarks are not logged. The file is rotated by size:
 * `path` → `path.1` → ... → `path.<maxBackups>`, the oldest dropped.
 *
 * Lines are written synchronously so none is lost when the process dies right after answering;
 * each is one small append, done after the response is sent.
 */
import { randomUUID } from "node:crypto";
import { appendFileSync, existsSync, renameSync, rmSync, statSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { RequestAttributes } from "./authorization.js";

export type AuditLevel = "None" | "Metadata" | "Request";
export const auditLevels: readonly AuditLevel[] = ["None", "Metadata", "Request"];

export interface AuditOptions {
  path: string;
  level: AuditLevel;
  /** Rotate when the file would pass this size; 100 MiB by default (upstream's --audit-log-maxsize 100). */
  maxSizeBytes?: number;
  /** Rotated files kept; 10 by default. */
  maxBackups?: number;
}

/** What the server knows of a request once it is answered. */
export interface AuditRecord {
  req: IncomingMessage;
  user: { name: string; groups?: readonly string[] };
  attrs: RequestAttributes;
  /** Whether authorization allowed it; undefined when it was not asked (system:masters, no authorizer). */
  allowed?: boolean;
  code: number;
  /** The Status of a failed request. */
  status?: { status: string; reason?: string; message?: string };
  requestBody?: Buffer;
  receivedAt: Date;
}

/** Resources whose request bodies hold credentials: never logged above Metadata. */
const metadataOnly = new Set(["secrets", "configmaps", "serviceaccounts/token", "tokenreviews"]);

function levelFor(policy: AuditLevel, attrs: RequestAttributes): AuditLevel {
  const r = attrs.resource;
  if (policy !== "Request" || !r) return policy === "None" ? "None" : "Metadata";
  const resource = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  return metadataOnly.has(resource) || metadataOnly.has(r.resource) ? "Metadata" : "Request";
}

/** The audit.k8s.io/v1 Event of a request at `level`. */
export function auditEvent(rec: AuditRecord, level: AuditLevel, now: Date): Record<string, unknown> {
  const r = rec.attrs.resource;
  const forwarded = rec.req.headers["x-forwarded-for"];
  const sourceIPs = [
    ...(typeof forwarded === "string" ? forwarded.split(",").map((s) => s.trim()) : []),
    ...(rec.req.socket.remoteAddress ? [rec.req.socket.remoteAddress] : []),
  ];
  let requestObject: unknown;
  if (level === "Request" && rec.requestBody?.length) {
    try {
      requestObject = JSON.parse(rec.requestBody.toString("utf8"));
    } catch {
      // Not JSON (YAML, protobuf): logged without the body rather than with bytes no reader can use.
    }
  }
  return {
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level,
    auditID: randomUUID(),
    stage: "ResponseComplete",
    requestURI: rec.req.url ?? "",
    verb: rec.attrs.verb,
    user: { username: rec.user.name, groups: [...(rec.user.groups ?? [])] },
    sourceIPs,
    ...(rec.req.headers["user-agent"] ? { userAgent: rec.req.headers["user-agent"] } : {}),
    ...(r
      ? {
          objectRef: {
            resource: r.resource,
            ...(r.namespace ? { namespace: r.namespace } : {}),
            ...(r.name ? { name: r.name } : {}),
            apiGroup: r.apiGroup,
            ...(r.subresource ? { subresource: r.subresource } : {}),
          },
        }
      : {}),
    responseStatus: { metadata: {}, code: rec.code, ...(rec.status ?? {}) },
    ...(requestObject !== undefined ? { requestObject } : {}),
    requestReceivedTimestamp: rec.receivedAt.toISOString(),
    stageTimestamp: now.toISOString(),
    ...(rec.allowed !== undefined
      ? { annotations: { "authorization.k8s.io/decision": rec.allowed ? "allow" : "forbid" } }
      : {}),
  };
}

export class AuditLog {
  private size: number;
  private readonly maxSize: number;
  private readonly maxBackups: number;

  constructor(private readonly opts: AuditOptions) {
    if (!auditLevels.includes(opts.level))
      throw new RangeError(`audit level "${opts.level}" is not one of ${auditLevels.join(", ")}`);
    this.maxSize = opts.maxSizeBytes ?? 100 * 1024 * 1024;
    this.maxBackups = opts.maxBackups ?? 10;
    // Fails here, at start, when the directory is missing or not writable, not on the first request.
    appendFileSync(opts.path, "", { mode: 0o600 });
    this.size = statSync(opts.path).size;
  }

  /** Logs one answered request (nothing at level None). */
  record(rec: AuditRecord, now = new Date()): void {
    const level = levelFor(this.opts.level, rec.attrs);
    if (level === "None") return;
    const line = `${JSON.stringify(auditEvent(rec, level, now))}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxSize) this.rotate();
    appendFileSync(this.opts.path, line, { mode: 0o600 });
    this.size += bytes;
  }

  private rotate(): void {
    const { path } = this.opts;
    rmSync(`${path}.${this.maxBackups}`, { force: true });
    for (let i = this.maxBackups - 1; i >= 1; i--) {
      if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
    }
    if (this.maxBackups > 0) renameSync(path, `${path}.1`);
    else rmSync(path, { force: true });
    this.size = 0;
  }
}
