/**
 * `?watch=true` over HTTP: one JSON WatchEvent per line on a chunked response. A request that
 * cannot be served (bad selector, compacted resourceVersion) gets an ordinary error response before
 * anything streams; once streaming, the end of the watch is an ERROR event carrying the Status
 * (410 Gone when compacted) and the response ends. The stream is closed when the client goes away,
 * after `timeoutSeconds`, or when the server closes.
 */
import type { ServerResponse } from "node:http";
import { ApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import type { WatchEvent } from "../../foundation/api/watch.js";
import type { Registry, WatchHandle } from "../registry/index.js";
import type { ApiServerMetrics } from "./metrics.js";
import type { ResourceRoute } from "./request-path.js";
import { listOptions } from "./resource-handler.js";
import { acceptedTableVersion, includeObjectParam, toTable } from "./table.js";

/** Bytes a watch may have queued for a slow client before the stream is closed. */
const maxBufferedBytes = 16 * 1024 * 1024;

export interface WatchStreamOptions {
  registry: Registry;
  route: ResourceRoute;
  query: URLSearchParams;
  bookmarkIntervalMs: number;
  metrics: ApiServerMetrics;
  /** Open streams, so the server can end them on close. */
  open: Set<() => void>;
  /** The request's Accept header: kubectl asks for Tables. */
  accept?: string;
}

export async function streamWatch(res: ServerResponse, opts: WatchStreamOptions): Promise<void> {
  const { route, query } = opts;
  const timeoutText = query.get("timeoutSeconds");
  const timeoutSeconds = timeoutText === null ? undefined : Number(timeoutText);
  if (timeoutSeconds !== undefined && (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 0)) {
    throw new ApiError(
      "BadRequest",
      `timeoutSeconds: must be a non-negative integer, got ${JSON.stringify(timeoutText)}`,
    );
  }
  const bookmarks = query.get("allowWatchBookmarks") === "true";
  const resourceVersion = query.get("resourceVersion");

  const tableVersion = acceptedTableVersion(opts.accept);
  let columnsSent = false;
  const asTable =
    tableVersion &&
    ((event: WatchEvent<KubeObject>) => {
      if (event.type === "BOOKMARK") return event;
      const table = toTable(route.info, [event.object], {
        version: tableVersion,
        include: includeObjectParam(query),
        now: Date.now(),
        columns: !columnsSent,
      });
      columnsSent = true;
      return { type: event.type, object: table };
    });
  let handle: WatchHandle | undefined;
  let ended = false;
  const buffered: string[] = [];
  const write = (line: string): void => {
    if (ended) return;
    if (!res.headersSent) {
      buffered.push(line);
      return;
    }
    res.write(line);
    // A client that stops reading would make the server buffer without bound; like Kubernetes,
    // drop it. It resumes from its last resourceVersion (or relists on 410).
    if (res.writableLength > maxBufferedBytes) end();
  };
  const gauge = opts.metrics.openWatches.labels({ resource: route.info.plural });
  let counted = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    handle?.close();
    clearTimeout(timer);
    opts.open.delete(end);
    if (counted) gauge.dec();
    res.end();
  };
  let timer: NodeJS.Timeout | undefined;

  handle = await opts.registry.watch(
    route.info,
    {
      ...listOptions(query, route.namespace),
      ...(resourceVersion !== null ? { resourceVersion } : {}),
      bookmarkIntervalMs: bookmarks ? opts.bookmarkIntervalMs : 0,
    },
    (event: WatchEvent<KubeObject>) => write(`${JSON.stringify(asTable ? asTable(event) : event)}\n`),
    (err: ApiError) => {
      write(`${JSON.stringify({ type: "ERROR", object: err.toStatus() })}\n`);
      end();
    },
  );
  if (ended) return;
  counted = true;
  gauge.inc();
  opts.open.add(end);
  res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache" });
  res.flushHeaders();
  for (const line of buffered.splice(0)) res.write(line);
  if (timeoutSeconds !== undefined && timeoutSeconds > 0) timer = setTimeout(end, timeoutSeconds * 1000);
  // The response's close (not the request's, which fires once the request is read) means the client left.
  res.on("close", end);
}
