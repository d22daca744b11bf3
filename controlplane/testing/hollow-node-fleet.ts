/**
 * Starting many hollow nodes (see hollow-node.ts) against one control plane from one process: issues
 * their client certificates from the cluster CA in `<stateDir>/pki`, registers them in waves so the
 * control plane is not hit by thousands of handshakes and podCIDR allocations at once, and stops
 * them all. For control-plane tests and scheduler benchmarks only.
 */
import { join } from "node:path";
import { nodesGroup, nodeUserPrefix } from "../../foundation/bootstrap/node-names.js";
import { ensureCa, generateKey, type KeyPair, makeCsr, signCsr } from "../../foundation/pki/pki.js";
import { CallLimiter, HollowNode, type HollowNodeBehaviour } from "./hollow-node.js";

export interface HollowFleetOptions {
  /** The control plane's state dir; its CA (`pki/ca.{crt,key}`) signs the node certificates. */
  stateDir: string;
  /** host:port of the control plane's NodeService. */
  nodeServiceAddress: string;
  /** Node names, or a count to name them `<prefix>-<i>` (prefix "hollow"). */
  nodes: readonly string[] | number;
  prefix?: string;
  /** How many nodes register at once. Default 32. */
  wave?: number;
  /** How many status calls run at once across the fleet. Default 64. */
  callConcurrency?: number;
  /** Certificates issued earlier for these names (benchmarks reuse them across runs). */
  certificates?: ReadonlyMap<string, KeyPair>;
  /** How every node of the fleet behaves (capacity, delays, readiness rule). */
  behaviour?: HollowNodeBehaviour;
}

export interface HollowFleet {
  nodes: HollowNode[];
  byName(name: string): HollowNode;
  /** Every node's certificate, to hand to a later fleet with the same CA. */
  certificates: Map<string, KeyPair>;
  stop(): void;
}

/**
 * Node client certificates for `names`, signed by `ca`. One key and one request serve them all,
 * since the CA sets the subject: signing is one openssl run per node instead of three.
 */
export async function issueNodeCertificates(
  ca: KeyPair,
  names: readonly string[],
  concurrency = 4,
): Promise<Map<string, KeyPair>> {
  const keyPem = await generateKey();
  const csr = await makeCsr(keyPem, "hollow-node");
  const out = new Map<string, KeyPair>();
  const limiter = new CallLimiter(concurrency);
  await Promise.all(
    names.map((name) =>
      limiter.run(async () => {
        const certPem = await signCsr(ca, csr, {
          commonName: `${nodeUserPrefix}${name}`,
          organization: nodesGroup,
          client: true,
        });
        out.set(name, { certPem, keyPem });
      }),
    ),
  );
  return out;
}

/** Starts the fleet and resolves once every node has registered. On failure, stops what started. */
export async function startHollowFleet(opts: HollowFleetOptions): Promise<HollowFleet> {
  const names =
    typeof opts.nodes === "number"
      ? Array.from({ length: opts.nodes }, (_, i) => `${opts.prefix ?? "hollow"}-${i}`)
      : [...opts.nodes];
  const ca = await ensureCa(join(opts.stateDir, "pki"));
  const missing = names.filter((n) => !opts.certificates?.has(n));
  const certificates = new Map([...(opts.certificates ?? []), ...(await issueNodeCertificates(ca, missing))]);
  const limiter = new CallLimiter(opts.callConcurrency ?? 64);
  const nodes: HollowNode[] = [];
  const stop = () => {
    for (const node of nodes) node.kill();
  };
  try {
    const wave = opts.wave ?? 32;
    for (let i = 0; i < names.length; i += wave) {
      const batch = names.slice(i, i + wave).map((name) =>
        new HollowNode({
          ...opts.behaviour,
          name,
          address: opts.nodeServiceAddress,
          caPem: ca.certPem,
          credentials: certificates.get(name)!,
          limiter,
        }).start(),
      );
      nodes.push(...batch);
      await Promise.all(batch.map((n) => n.ready));
    }
  } catch (err) {
    stop();
    throw err;
  }
  const index = new Map(nodes.map((n) => [n.name, n]));
  return {
    nodes,
    certificates,
    byName(name) {
      const node = index.get(name);
      if (!node) throw new Error(`no hollow node named "${name}"`);
      return node;
    },
    stop,
  };
}
