/**
 * NetworkPolicy enforcement on one node, for the pods bound to it: keeps `table inet kctl-netpol`
 * in step with the cluster's NetworkPolicies, Namespaces and Pods (fed by the agent's mirrors).
 * Every batch of changes recomputes the whole model (level-triggered) and applies the difference
 * from what the kernel last took as one `nft -f` transaction: a pod IP coming or going is a set
 * element added or removed, a policy change the chains of the pods it selects. The first sync,
 * any sync after a failure and an hourly one rebuild the table, so it converges from any state.
 *
 * Lifecycle: feed objects with set/delete (before or after start), `start()` (first full sync),
 * `stop()` (rules stay, so an agent restart does not open the pods), `uninstall()`.
 */
import { objectKey } from "../../foundation/api/object.js";
import { tracer } from "../../foundation/util/trace.js";
import type { Namespace, NetworkPolicy, Pod } from "../../proto/gen/api.js";
import { Nft } from "../proxy/nft-linux.js";
import { CoalescingRunner } from "../util/coalescing-runner.js";
import { computePolicyModel } from "./policy-model.js";
import { type RenderedTable, renderModel, renderScript, TABLE } from "./ruleset.js";

const trace = tracer("netpol");

export interface EnforcerConfig {
  nodeName: string;
  /** Network namespace file to program; undefined: this process's. */
  netns?: string;
  /** Changes arriving within this window share one transaction; default 0 (same tick). */
  minSyncIntervalMs?: number;
  /** Told of a failed background sync; default: traced. */
  onError?: (err: Error) => void;
}

export interface EnforcerSync {
  kind: "full" | "partial";
  /** The script applied; empty when nothing changed. */
  script: string;
}

/** The kinds the model reads. */
export type PolicyInputKind = "NetworkPolicy" | "Namespace" | "Pod";
type PolicyInput = NetworkPolicy | Namespace | Pod;

export class NetworkPolicyEnforcer {
  private readonly objects: Record<PolicyInputKind, Map<string, PolicyInput>> = {
    NetworkPolicy: new Map(),
    Namespace: new Map(),
    Pod: new Map(),
  };
  private readonly nft: Nft;
  private readonly runner: CoalescingRunner<EnforcerSync>;
  /** What the kernel holds after the last successful script; undefined: rebuild on the next sync. */
  private applied: RenderedTable | undefined;

  constructor(private readonly config: EnforcerConfig) {
    this.nft = new Nft(config.netns);
    this.runner = new CoalescingRunner(() => this.sync(), {
      retryDelayMs: 1000,
      resyncIntervalMs: 3_600_000,
      onResync: () => (this.applied = undefined),
    });
  }

  set(kind: PolicyInputKind, obj: PolicyInput): void {
    this.objects[kind].set(objectKey(obj), obj);
    this.runner.schedule(this.config.minSyncIntervalMs ?? 0);
  }

  delete(kind: PolicyInputKind, obj: PolicyInput): void {
    this.objects[kind].delete(objectKey(obj));
    this.runner.schedule(this.config.minSyncIntervalMs ?? 0);
  }

  /** First full sync; throws when it fails (the runner retries in the background). */
  async start(): Promise<EnforcerSync> {
    this.runner.start();
    return this.runner.runNow();
  }

  /** Applies what is pending now and returns what was applied. */
  syncNow(): Promise<EnforcerSync> {
    return this.runner.runNow();
  }

  async stop(): Promise<void> {
    await this.runner.stop();
  }

  /** Stops and removes the table: every pod is open again. */
  async uninstall(): Promise<void> {
    await this.stop();
    await this.nft.apply(`add table ${TABLE}\ndelete table ${TABLE}\n`);
  }

  private async sync(): Promise<EnforcerSync> {
    const want = renderModel(
      computePolicyModel({
        nodeName: this.config.nodeName,
        policies: [...this.objects.NetworkPolicy.values()] as NetworkPolicy[],
        namespaces: [...this.objects.Namespace.values()] as Namespace[],
        pods: [...this.objects.Pod.values()] as Pod[],
      }),
    );
    const kind = this.applied ? "partial" : "full";
    const script = renderScript(want, this.applied);
    this.applied = undefined;
    try {
      if (script) await this.nft.apply(script);
    } catch (err) {
      trace("sync failed", String(err));
      this.config.onError?.(err as Error);
      throw err;
    }
    this.applied = want;
    if (script) trace(`${kind} sync`, `${script.split("\n").length - 1} lines`);
    return { kind, script };
  }
}
