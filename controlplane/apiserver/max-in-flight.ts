/**
 * Flow control as upstream's max-in-flight filter (`--max-requests-inflight`,
 * `--max-mutating-requests-inflight`; API Priority and Fairness's exempt level in spirit): at most
 * so many read and so many write requests run at once, and one over its limit is answered at once
 * with 429 TooManyRequests and `Retry-After: 1` instead of queueing, so an overloaded server sheds
 * load rather than holding every client's socket and memory. Long-running requests (watches,
 * logs, exec, attach, port-forward) are not counted, as upstream. The caller exempts members of
 * `system:masters` and the health and version paths, so an admin and probes get through.
 */
import { ApiError } from "../../foundation/api/errors.js";

export interface InFlightLimits {
  /** GET, HEAD and OPTIONS; upstream's default is 400. */
  readonly: number;
  /** Everything else; upstream's default is 200. */
  mutating: number;
}

export const defaultInFlightLimits: InFlightLimits = { readonly: 400, mutating: 200 };

const readonlyMethods = new Set(["GET", "HEAD", "OPTIONS"]);

export class InFlightLimiter {
  private readonly running = { readonly: 0, mutating: 0 };

  constructor(private readonly limits: InFlightLimits) {
    for (const [kind, limit] of Object.entries(limits)) {
      if (!Number.isInteger(limit) || limit < 1)
        throw new RangeError(
          `max in-flight ${kind} requests must be a whole number of at least 1, got ${limit}`,
        );
    }
  }

  /**
   * Takes a slot for a request with `method`, or throws TooManyRequests (details.retryAfterSeconds
   * 1) when all are taken. The returned function gives the slot back; call it once, when the
   * request ends.
   */
  acquire(method: string): () => void {
    const kind = readonlyMethods.has(method) ? "readonly" : "mutating";
    if (this.running[kind] >= this.limits[kind]) {
      throw new ApiError("TooManyRequests", "Too many requests, please try again later.", {
        retryAfterSeconds: 1,
      });
    }
    this.running[kind]++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running[kind]--;
    };
  }

  /** Requests running now, by kind (the `apiserver_current_inflight_requests` gauge). */
  inFlight(): Readonly<{ readonly: number; mutating: number }> {
    return { ...this.running };
  }
}

const streamingSubresources = new Set(["log", "exec", "attach", "portforward"]);

/** Whether a request on a resource holds its connection open (upstream's long-running check). */
export function isLongRunning(watch: boolean, subresource: string | undefined): boolean {
  return watch || (subresource !== undefined && streamingSubresources.has(subresource));
}
