/** Preact hooks over the API: a live resource cache per view, and the metrics API's node usage. */
import { useEffect, useState } from "preact/hooks";
import type { ApiClient, KubeObject } from "./api";
import type { NodeMetrics } from "./kube-types";
import { apiSource, type CacheState, ResourceCache } from "./resource-cache";

/**
 * The objects at `path` (filtered by `query`, e.g. a fieldSelector), kept live by watch while the
 * calling view is shown; the watch ends with the view, freeing its connection (browsers open six
 * per host over HTTP/1.1, and each watch holds one). Redraws at most once per frame.
 */
export function useResource<T extends KubeObject>(api: ApiClient, path: string, query = ""): CacheState<T> {
  const [state, setState] = useState<CacheState<T>>({ items: [], synced: false, lists: 0 });
  useEffect(() => {
    let frame = 0;
    const cache = new ResourceCache<T>(apiSource<T>(api, path, query), () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setState(cache.snapshot());
      });
    });
    void cache.start();
    return () => {
      cache.stop();
      cancelAnimationFrame(frame);
    };
  }, [api, path, query]);
  return state;
}

/** The metrics API samples usage every 15 s and serves no watch, so this reads it at that rate. */
const METRICS_PERIOD_MS = 15_000;

/** Node usage from metrics.k8s.io; empty where the API is not served or the user may not read it. */
export function useNodeMetrics(api: ApiClient): readonly NodeMetrics[] {
  const [metrics, setMetrics] = useState<readonly NodeMetrics[]>([]);
  useEffect(() => {
    let stopped = false;
    const read = () =>
      api
        .get<{ items: NodeMetrics[] }>("/apis/metrics.k8s.io/v1beta1/nodes")
        .then((list) => !stopped && setMetrics(list.items))
        .catch(() => !stopped && setMetrics([]));
    void read();
    const timer = setInterval(read, METRICS_PERIOD_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api]);
  return metrics;
}
