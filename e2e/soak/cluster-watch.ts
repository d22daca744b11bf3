/**
 * The soak's view of the cluster through the API, sampled every second in this process (one list
 * each of Nodes, the soak's Deployments and Pods, and the Service's Endpoints): whether the cluster
 * has recovered (every Node Ready, every Deployment's generation observed and as many pods
 * available as it asks for; a rolling update under way with maxUnavailable 0 keeps that), whether
 * it has settled (every Deployment rolled out too), and the Service's endpoint set over time, so a
 * failed request can be set against the endpoints the API listed when it was sent. A sample the
 * API did not answer counts as neither.
 */
import { resourceForKind } from "../../foundation/api/resources.js";
import type { ApiClient } from "../../kctl/client.js";

export interface DeploymentView {
  metadata: { name: string; generation: number };
  spec: { replicas: number };
  status?: {
    observedGeneration?: number;
    updatedReplicas?: number;
    replicas?: number;
    availableReplicas?: number;
  };
}

/** A Deployment rolled out: its current generation observed, every replica updated and available, none extra. */
export const rolledOut = (d: DeploymentView): boolean =>
  available(d) && d.status?.updatedReplicas === d.spec.replicas && d.status.replicas === d.spec.replicas;

/** Its current generation observed and at least as many pods available as it asks for. */
const available = (d: DeploymentView): boolean =>
  d.status?.observedGeneration === d.metadata.generation &&
  (d.status.availableReplicas ?? 0) >= d.spec.replicas;

interface NodeView {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

interface PodView {
  metadata: { name: string };
  spec?: { nodeName?: string };
  status?: { podIP?: string };
}

interface EndpointsView {
  subsets?: { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[] }[];
}

export interface Sample {
  atMs: number;
  /** Every Node Ready and every Deployment available. */
  recovered: boolean;
  /** Recovered, and every Deployment rolled out. */
  settled: boolean;
  notReadyNodes: string[];
  /** Ready addresses of the Service, as `ip (pod@node)`. */
  endpoints: string[];
}

const kinds = {
  nodes: resourceForKind("v1", "Node")!,
  deployments: resourceForKind("apps/v1", "Deployment")!,
  pods: resourceForKind("v1", "Pod")!,
  endpoints: resourceForKind("v1", "Endpoints")!,
};

export class ClusterWatch {
  private readonly samples: Sample[] = [];
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: ApiClient,
    private readonly namespace: string,
    private readonly service: string,
    private readonly deployments: readonly string[],
    private readonly periodMs = 1_000,
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const started = Date.now();
        this.samples.push(await this.sample().catch((err: unknown) => this.failedSample(started, err)));
        await new Promise((r) => setTimeout(r, Math.max(0, this.periodMs - (Date.now() - started))));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** The last sample taken at or before `atMs`. */
  at(atMs: number): Sample | undefined {
    for (let i = this.samples.length - 1; i >= 0; i--)
      if (this.samples[i]!.atMs <= atMs) return this.samples[i];
    return undefined;
  }

  /** The first recovered sample at or after `fromMs` and before `untilMs`, if any. */
  recoveredAfter(fromMs: number, untilMs = Number.POSITIVE_INFINITY): Sample | undefined {
    return this.samples.find((s) => s.atMs >= fromMs && s.atMs < untilMs && s.recovered);
  }

  /** Resolves with the first settled sample taken after `fromMs`; rejects past `boundMs`. */
  async settledAfter(fromMs: number, boundMs: number): Promise<Sample> {
    for (;;) {
      const settled = this.samples.find((s) => s.atMs >= fromMs && s.settled);
      if (settled) return settled;
      if (Date.now() - fromMs > boundMs) {
        const last = this.samples.at(-1);
        throw new Error(
          `deployments in ${this.namespace} did not roll out within ${boundMs} ms` +
            (last ? ` (not Ready: ${last.notReadyNodes.join(", ") || "none"})` : ""),
        );
      }
      await new Promise((r) => setTimeout(r, this.periodMs));
    }
  }

  /** The Service's endpoint set each time it changed, for the report of a failed run. */
  endpointChanges(): { atMs: number; endpoints: string[] }[] {
    const changes: { atMs: number; endpoints: string[] }[] = [];
    for (const s of this.samples) {
      const last = changes.at(-1);
      if (!last || last.endpoints.join() !== s.endpoints.join())
        changes.push({ atMs: s.atMs, endpoints: s.endpoints });
    }
    return changes;
  }

  /** A sample whose reads failed: the error stands in for the nodes, so a report says why. */
  private failedSample(atMs: number, err: unknown): Sample {
    return {
      atMs,
      recovered: false,
      settled: false,
      notReadyNodes: [`(API read failed: ${err instanceof Error ? err.message : String(err)})`],
      endpoints: this.samples.at(-1)?.endpoints ?? [],
    };
  }

  private async sample(): Promise<Sample> {
    const atMs = Date.now();
    const [nodes, deployments, pods, endpoints] = await Promise.all([
      this.client.list(kinds.nodes, undefined),
      this.client.list(kinds.deployments, this.namespace),
      this.client.list(kinds.pods, this.namespace),
      this.client.get(kinds.endpoints, this.namespace, this.service),
    ]);
    const notReadyNodes = (nodes.items as unknown as NodeView[])
      .filter((n) => !n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
      .map((n) => n.metadata.name);
    const ds = deployments.items as unknown as DeploymentView[];
    const every = (ok: (d: DeploymentView) => boolean) =>
      notReadyNodes.length === 0 &&
      this.deployments.every((name) => ds.some((d) => d.metadata.name === name && ok(d)));
    const podByIP = new Map(
      (pods.items as unknown as PodView[]).map((p) => [
        p.status?.podIP,
        `${p.metadata.name}@${p.spec?.nodeName}`,
      ]),
    );
    const ready = ((endpoints as unknown as EndpointsView).subsets ?? []).flatMap((s) => s.addresses ?? []);
    return {
      atMs,
      recovered: every(available),
      settled: every(rolledOut),
      notReadyNodes,
      endpoints: ready.map((a) => `${a.ip} (${podByIP.get(a.ip) ?? "?"})`).sort(),
    };
  }
}
