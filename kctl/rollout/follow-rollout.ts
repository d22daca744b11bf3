/**
 * Following one workload's rollout for `kctl rollout status`: reads it, then watches it and prints
 * the controller's own status message (`rolloutStatus` of a Deployment, `daemonSetRolloutStatus`
 * of a DaemonSet) whenever it changes, until the rollout is
 * done, fails its progress deadline, or `signal` aborts. A watch the server ends (timeouts, 410 Gone)
 * is replaced by a fresh read and watch, so no single event matters: each state is judged whole.
 */

import { isApiError } from "../../foundation/api/errors.js";
import type { ResourceInfo } from "../../foundation/api/resources.js";
import type { Clock } from "../../foundation/util/clock.js";
import { daemonSetRolloutStatus } from "../../foundation/workloads/daemonset/rollout.js";
import { type RolloutState, rolloutStatus } from "../../foundation/workloads/deployment/rollout-status.js";
import type { DaemonSet, Deployment } from "../../proto/gen/api.js";
import type { ApiClient } from "../client.js";
import { CliError } from "../errors.js";

export interface FollowOptions {
  client: ApiClient;
  info: ResourceInfo;
  namespace: string;
  name: string;
  clock: Clock;
  /** Stops following; the result is then `undefined`. The client must be bound to the same signal. */
  signal: AbortSignal;
  print(line: string): void;
  /** Pause before re-reading after the server ends a watch. */
  retryMs?: number;
  /** How a state of the object reads; default the Deployment controller's `rolloutStatus`. */
  judge?: (obj: unknown) => RolloutState;
}

/** The final state, or undefined when `signal` aborted first. Throws when the Deployment goes away. */
export async function followRollout(opts: FollowOptions): Promise<RolloutState | undefined> {
  const { client, info, namespace, name, signal } = opts;
  let last = "";
  const statusOf = (obj: unknown): RolloutState =>
    info.kind === "DaemonSet"
      ? daemonSetRolloutStatus(obj as Parameters<typeof daemonSetRolloutStatus>[0])
      : rolloutStatus(obj as Parameters<typeof rolloutStatus>[0]);
  const judge = (d: Deployment | DaemonSet): RolloutState => {
    const state = opts.judge ? opts.judge(d) : statusOf(d);
    if (state.message !== last) opts.print(state.message);
    last = state.message;
    return state;
  };
  while (!signal.aborted) {
    let version: string | undefined;
    try {
      const d = (await client.get(info, namespace, name)) as Deployment;
      const state = judge(d);
      if (state.done) return state;
      version = d.metadata?.resourceVersion;
      for await (const event of client.watch(info, namespace, {
        fieldSelector: `metadata.name=${name}`,
        ...(version ? { resourceVersion: version } : {}),
      })) {
        if (event.type === "DELETED") {
          throw new CliError(`${info.singular} "${name}" was deleted while waiting for its rollout`);
        }
        if (event.type === "BOOKMARK") continue;
        const next = judge(event.object as Deployment);
        if (next.done) return next;
      }
    } catch (err) {
      if (signal.aborted) return undefined;
      // A watch whose version was compacted (410 Gone) is replaced by a fresh read; anything else is the user's.
      if (!isApiError(err, "Gone")) throw err;
    }
    if (!signal.aborted) await opts.clock.sleep(opts.retryMs ?? 500);
  }
  return undefined;
}
