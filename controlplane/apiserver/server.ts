/**
 * The HTTP(S) apiserver: Kubernetes paths, bearer-token authentication, discovery, health, metrics
 * and the resource verbs, all served from one `Registry`. It holds no state of its own besides open
 * watch streams, which `close()` ends.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type Registry as MetricsRegistry, register } from "prom-client";
import { ApiError } from "../../foundation/api/errors.js";
import type { ResourceInfo } from "../../foundation/api/resources.js";
import type { Registry } from "../registry/index.js";
import {
  type AggregatedApi,
  type AggregatedMatch,
  aggregatedResourceList,
  matchAggregated,
} from "./aggregated-api.js";
import type { AuditLog, AuditRecord } from "./audit.js";
import {
  type Authorizer,
  authorizeRequest,
  mastersGroup,
  nonResourceAttributes,
  resourceAttributes,
} from "./authorization.js";
import { certificateUser, type KeyRevoked } from "./client-certificate.js";
import { apiGroup, apiGroupList, apiResourceList, apiVersions, type VersionInfo } from "./discovery.js";
import { type HealthCheck, serveHealth } from "./health.js";
import { bodyRead, sendError, sendJson, toApiError } from "./http-io.js";
import {
  defaultInFlightLimits,
  InFlightLimiter,
  type InFlightLimits,
  isLongRunning,
} from "./max-in-flight.js";
import { type ApiServerMetrics, apiServerMetrics } from "./metrics.js";
import { buildOpenApiDocuments, type OpenApiDocuments } from "./openapi.js";
import { serveOpenApi } from "./openapi-handler.js";
import { parsePath, type Route } from "./request-path.js";
import { handleResource, requestVerb } from "./resource-handler.js";
import { isUiPath, serveUi } from "./ui-static.js";
import { serveUpgrade, type UpgradeHandler } from "./upgrade.js";
import { streamWatch } from "./watch-stream.js";

export interface ApiServerOptions {
  registry: Registry;
  /** Address to listen on; 127.0.0.1 when omitted. */
  host?: string;
  /** 0 picks a free port (tests). */
  port: number;
  /**
   * PEM strings; serves HTTPS when given, plain HTTP otherwise. With `clientCa`, a client
   * certificate that CA signed authenticates its holder: user = CN, groups = O (as upstream),
   * unless `keyRevoked` says its key was revoked (401).
   */
  tls?: { cert: string; key: string; clientCa?: string; keyRevoked?: KeyRevoked };
  /**
   * Flow control (max-in-flight.ts): how many read and write requests may run at once; over that,
   * 429 with Retry-After. Upstream's 400 and 200 when omitted.
   */
  maxInFlight?: InFlightLimits;
  /** The audit log (audit.ts): one event per authenticated request on the API's resources and paths. */
  audit?: AuditLog;
  /** Maps a bearer token to a user, or undefined when the token is not valid. */
  authenticate(token: string): User | undefined;
  /** What /version reports. */
  version?: VersionInfo;
  /** Registry served at /metrics and holding the request metrics; prom-client's default when omitted. */
  metrics?: MetricsRegistry;
  /** Period of BOOKMARK events on watches that allow them; 60 s when omitted. */
  watchBookmarkIntervalMs?: number;
  /**
   * Handlers of subresources served outside the registry, such as pods/log and pods/exec proxied to
   * a node. Requests reach them authenticated, with the route parsed; what they throw is answered as
   * a Status. They are listed in discovery only when given.
   */
  subresourceHandlers?: Partial<Record<ExternalSubresource, SubresourceHandler>>;
  /**
   * Handlers of WebSocket upgrades on subresources (pods/exec), authenticated and routed like any
   * request; they own the socket from then on.
   */
  upgradeHandlers?: Partial<Record<StreamingSubresource, UpgradeHandler>>;
  /**
   * Extra endpoints outside the Kubernetes API, by exact path (e.g. the node join endpoint). They
   * get the authenticated user and decide what it may do.
   */
  extraRoutes?: Record<string, ExtraRouteHandler>;
  /**
   * Endpoints served without credentials, by exact path (cluster-info, which a joining node reads
   * before it trusts the server with its token). A token, if sent, is not even looked at.
   */
  anonymousRoutes?: Record<string, AnonymousRouteHandler>;
  /**
   * Decides, after authentication, whether the user may make the request (RBAC); 403 in upstream's
   * wording when not. Members of `system:masters` skip it. When omitted, every user may do anything.
   */
  authorize?: Authorizer;
  /**
   * Group/versions served by handlers of their own (metrics.k8s.io), listed in discovery beside
   * the registry's; requests reach them authenticated and authorized like any resource request.
   */
  aggregatedApis?: readonly AggregatedApi[];
  /** Named checks `/healthz`, `/readyz` and `/livez` run (etcd, for the control plane). */
  healthChecks?: Readonly<Record<string, HealthCheck>>;
  /** The built dashboard (`dist/ui`), served under `/ui/` without credentials; not served when omitted. */
  uiDir?: string;
}

export interface User {
  name: string;
  /** Users in `bootstrapGroup` may call only the extra routes (node join), nothing else. */
  groups?: readonly string[];
}

/** The group of bootstrap-token users, as in Kubernetes. */
export const bootstrapGroup = "system:bootstrappers";

export type ExtraRouteHandler = (req: IncomingMessage, res: ServerResponse, user: User) => Promise<void>;

export type AnonymousRouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export type StreamingSubresource = "log" | "exec" | "attach" | "portforward";

/** Subresources served outside the registry: the streams, and ServiceAccount tokens (TokenRequest). */
export type ExternalSubresource = StreamingSubresource | "token";

export interface SubresourceTarget {
  info: ResourceInfo;
  namespace: string | undefined;
  name: string;
  query: URLSearchParams;
}

/** Serves one request for a subresource; may stream for as long as the client stays. */
export type SubresourceHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  target: SubresourceTarget,
) => Promise<void>;

export interface ApiServer {
  port: number;
  /** `http(s)://host:port`. */
  url: string;
  /** Ends open watches and stops the server; resolves when every connection is closed. */
  close(): Promise<void>;
}

export const defaultVersion: VersionInfo = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-kctl",
  platform: `${process.platform}/${process.arch}`,
};

/** Paths served without a token: liveness and readiness probes, and the version. */
const publicPaths = new Set(["healthz", "readyz", "livez", "version"]);

/** How long an idle keep-alive connection stays open (kube-apiserver never closes one first). */
export const IDLE_CONNECTION_MS = 120_000;

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const host = opts.host ?? "127.0.0.1";
  const metricsRegistry = opts.metrics ?? register;
  const metrics = apiServerMetrics(metricsRegistry);
  const openWatches = new Set<() => void>();
  const scheme = opts.tls ? "https" : "http";
  const openApi = buildOpenApiDocuments();
  const limiter = new InFlightLimiter(opts.maxInFlight ?? defaultInFlightLimits);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void serve(req, res).catch((err: unknown) => sendError(res, toApiError(err, `${req.method} ${req.url}`)));
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const labels = { verb: req.method ?? "", resource: "", subresource: "", code: "" };
    let longRunning = false;
    let release: (() => void) | undefined;
    let audit: Pick<AuditRecord, "user" | "attrs" | "allowed"> | undefined;
    let failure: ApiError | undefined;
    const receivedAt = new Date();
    try {
      const url = new URL(req.url ?? "/", "http://apiserver");
      if (opts.uiDir && isUiPath(url.pathname)) {
        await serveUi(req, res, url.pathname, opts.uiDir);
        return;
      }
      const anonymous = opts.anonymousRoutes?.[url.pathname];
      if (anonymous) {
        await anonymous(req, res);
        return;
      }
      const first = url.pathname.split("/")[1] ?? "";
      const user = publicPaths.has(first)
        ? undefined
        : (certificateUser(req, opts.tls?.keyRevoked) ?? authenticate(req, opts.authenticate));
      const extra = opts.extraRoutes?.[url.pathname];
      if (extra && user) {
        await extra(req, res, user);
        return;
      }
      if (user?.groups?.includes(bootstrapGroup)) {
        throw new ApiError("Forbidden", `user "${user.name}" (a bootstrap token) may only join nodes`);
      }
      const aggregated = matchAggregated(url.pathname, opts.aggregatedApis ?? []);
      if (aggregated) {
        if (aggregated.kind === "resource")
          labels.resource = `${aggregated.route.resource}.${aggregated.api.group}`;
        await serveAggregated(aggregated, req, res, url, user, opts);
        return;
      }
      const route = parsePath(url.pathname);
      const watch = ["true", "1"].includes(url.searchParams.get("watch") ?? "");
      if (user) {
        const method = req.method ?? "GET";
        const attrs =
          route.kind === "resource"
            ? resourceAttributes(user, route.route, method, watch, url.pathname)
            : nonResourceAttributes(user, method, url.pathname);
        audit = { user, attrs };
        if (opts.authorize) {
          // Masters are not asked about, so their events carry no decision.
          const asked = !attrs.groups.includes(mastersGroup);
          if (asked) audit.allowed = false;
          authorizeRequest(opts.authorize, attrs);
          if (asked) audit.allowed = true;
        }
      }
      const counted =
        user !== undefined &&
        !user.groups?.includes(mastersGroup) &&
        !(route.kind === "resource" && isLongRunning(watch, route.route.subresource));
      if (counted) release = limiter.acquire(req.method ?? "GET");
      if (route.kind === "resource") {
        const r = route.route;
        labels.resource = r.info.group ? `${r.info.plural}.${r.info.group}` : r.info.plural;
        labels.subresource = r.subresource ?? "";
        labels.verb = requestVerb(req.method ?? "GET", r, url.searchParams);
        const external =
          r.name && r.subresource
            ? opts.subresourceHandlers?.[r.subresource as ExternalSubresource]
            : undefined;
        if (external) {
          longRunning = true;
          await external(req, res, {
            info: r.info,
            namespace: r.namespace,
            name: r.name!,
            query: url.searchParams,
          });
          return;
        }
        if (labels.verb === "WATCH") {
          longRunning = true;
          await streamWatch(res, {
            registry: opts.registry,
            route: r,
            query: url.searchParams,
            bookmarkIntervalMs: opts.watchBookmarkIntervalMs ?? 60_000,
            metrics,
            open: openWatches,
            ...(req.headers.accept ? { accept: req.headers.accept } : {}),
          });
          return;
        }
        await handleResource(opts.registry, r, req, res, url.searchParams);
        return;
      }
      await serveNonResource(route, req, res, {
        aggregatedApis: opts.aggregatedApis ?? [],
        metricsRegistry,
        version: opts.version ?? defaultVersion,
        host: req.headers.host ?? host,
        healthChecks: opts.healthChecks ?? {},
        verbose: url.searchParams.has("verbose"),
        extraSubresources: [
          ...new Set([
            ...Object.keys(opts.subresourceHandlers ?? {}),
            ...Object.keys(opts.upgradeHandlers ?? {}),
          ]),
        ],
        openApi,
      });
    } catch (err) {
      longRunning = false;
      failure = toApiError(err, `${req.method} ${req.url}`);
      sendError(res, failure);
    } finally {
      release?.();
      if (audit && opts.audit) {
        const body = bodyRead(req);
        opts.audit.record({
          ...audit,
          req,
          code: res.statusCode,
          receivedAt,
          ...(failure
            ? { status: { status: "Failure", reason: failure.reason, message: failure.message } }
            : {}),
          ...(body ? { requestBody: body } : {}),
        });
      }
      labels.code = String(res.statusCode);
      record(metrics, labels, longRunning ? undefined : (performance.now() - started) / 1000);
    }
  };

  const server: Server = opts.tls
    ? createHttpsServer(
        {
          cert: opts.tls.cert,
          key: opts.tls.key,
          // Ask for a certificate but let clients without one in: they may bring a token instead.
          ...(opts.tls.clientCa
            ? { ca: opts.tls.clientCa, requestCert: true, rejectUnauthorized: false }
            : {}),
        },
        handler,
      )
    : createHttpServer(handler);
  // Idle keep-alive connections stay open longer than clients keep theirs (Go's transports: 90 s),
  // so the client closes first. With Node's 5 s a client reusing a connection just as the server
  // dropped it got ECONNRESET, which no client may retry for a POST.
  server.keepAliveTimeout = IDLE_CONNECTION_MS;
  // Upgraded sockets leave the HTTP server's bookkeeping, so close() ends them here.
  const upgraded = new Set<Duplex>();
  server.on("upgrade", (req: IncomingMessage, socket, head: Buffer) => {
    upgraded.add(socket);
    socket.on("close", () => upgraded.delete(socket));
    void serveUpgrade(req, socket, head, opts.upgradeHandlers ?? {}, (r, route, path) => {
      const user = certificateUser(r, opts.tls?.keyRevoked) ?? authenticate(r, opts.authenticate);
      if (user.groups?.includes(bootstrapGroup)) {
        throw new ApiError("Forbidden", `user "${user.name}" (a bootstrap token) may only join nodes`);
      }
      // An exec over WebSocket arrives as a GET; it runs a command, so it needs what kubectl's
      // POST needs: create on pods/exec.
      if (opts.authorize)
        authorizeRequest(opts.authorize, resourceAttributes(user, route, "POST", false, path));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    port,
    url: `${scheme}://${urlHost}:${port}`,
    close: async () => {
      for (const end of [...openWatches]) end();
      for (const socket of upgraded) socket.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function authenticate(req: IncomingMessage, check: ApiServerOptions["authenticate"]): User {
  const header = req.headers.authorization ?? "";
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const user = m ? check(m[1]!) : undefined;
  if (!user) {
    throw new ApiError(
      "Unauthorized",
      m
        ? "Unauthorized: the bearer token is not valid"
        : "Unauthorized: a bearer token is required (Authorization: Bearer TOKEN)",
    );
  }
  return user;
}

function record(
  metrics: ApiServerMetrics,
  labels: { verb: string; resource: string; subresource: string; code: string },
  seconds: number | undefined,
): void {
  metrics.requests.inc(labels);
  if (seconds !== undefined) metrics.latency.observe(labels, seconds);
}

/** The Kubernetes verb of a request on an aggregated resource. */
function aggregatedVerb(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case "GET":
    case "HEAD":
      return named ? "get" : watch ? "watch" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return named ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}

/** A request on an aggregated group: discovery, or one of its resources (the verbs it lists). */
async function serveAggregated(
  match: AggregatedMatch,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  user: User | undefined,
  opts: ApiServerOptions,
): Promise<void> {
  const method = req.method ?? "GET";
  if (match.kind !== "resource") {
    if (method !== "GET" && method !== "HEAD") {
      throw new ApiError("MethodNotAllowed", `the method ${method} is not supported on ${url.pathname}`);
    }
    if (opts.authorize && user)
      authorizeRequest(opts.authorize, nonResourceAttributes(user, method, url.pathname));
    if (match.kind === "resource-list") {
      sendJson(res, 200, aggregatedResourceList(match.api));
      return;
    }
    // The group may also have versions the registry serves: list them all, the registry's preferred.
    const all = apiGroupList(opts.aggregatedApis ?? []) as { groups: { name: string }[] };
    const group = all.groups.find((g) => g.name === match.api.group);
    sendJson(res, 200, { kind: "APIGroup", apiVersion: "v1", ...group });
    return;
  }
  const { route, api } = match;
  const watch = ["true", "1"].includes(url.searchParams.get("watch") ?? "");
  const verb = aggregatedVerb(method, route.name !== undefined, watch);
  const resource = api.resources.find((r) => r.name === route.resource);
  if (!resource?.verbs.includes(verb)) {
    throw new ApiError(
      "MethodNotAllowed",
      `${verb} is not supported on ${route.resource}.${api.group}/${api.version}`,
    );
  }
  if (opts.authorize && user) {
    authorizeRequest(opts.authorize, {
      ...nonResourceAttributes(user, method, url.pathname),
      verb,
      resource: {
        apiGroup: api.group,
        resource: route.resource,
        ...(route.namespace ? { namespace: route.namespace } : {}),
        ...(route.name ? { name: route.name } : {}),
      },
    });
  }
  await api.serve(route, req, res, url.searchParams);
}

async function serveNonResource(
  route: Exclude<Route, { kind: "resource" }>,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: {
    aggregatedApis: readonly AggregatedApi[];
    metricsRegistry: MetricsRegistry;
    version: VersionInfo;
    host: string;
    extraSubresources: string[];
    openApi: OpenApiDocuments;
    healthChecks: Readonly<Record<string, HealthCheck>>;
    verbose: boolean;
  },
): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    throw new ApiError("MethodNotAllowed", `the method ${req.method} is not supported on ${req.url}`);
  }
  switch (route.kind) {
    case "healthz":
    case "readyz":
    case "livez":
      return serveHealth(res, route.kind, ctx.healthChecks, ctx.verbose);
    case "metrics":
      res.writeHead(200, { "Content-Type": ctx.metricsRegistry.contentType });
      res.end(await ctx.metricsRegistry.metrics());
      return;
    case "version":
      return sendJson(res, 200, ctx.version);
    case "root":
      return sendJson(res, 200, {
        paths: [
          "/api",
          "/api/v1",
          "/apis",
          "/healthz",
          "/metrics",
          "/openapi/v2",
          "/openapi/v3",
          "/readyz",
          "/version",
        ],
      });
    case "api":
      return sendJson(res, 200, apiVersions(ctx.host));
    case "apis":
      return sendJson(res, 200, apiGroupList(ctx.aggregatedApis));
    case "group":
      return sendJson(res, 200, apiGroup(route.group));
    case "openapi-v2":
    case "openapi-v3":
    case "openapi-v3-doc":
      return serveOpenApi(route, req, res, ctx.openApi);
    case "resource-list":
      return sendJson(res, 200, apiResourceList(route.group, route.version, ctx.extraSubresources));
  }
}
