/**
 * Hands each node a podCIDR (a /24 of the cluster CIDR by default), recorded in etcd so that no
 * block is ever given to two nodes, even with several control planes racing: each allocation is one
 * etcd transaction that creates both the block's key and the node's key only if neither exists.
 * A node that registers again gets the block it already has. Blocks are freed when the Node is deleted.
 */
import type { Etcd3 } from "etcd3";
import { ApiError } from "../api/errors.js";
import { type Cidr, cidrSize, formatCidr, nthSubnet, parseCidr } from "../util/ipv4.js";

const blockPrefix = "/registry/kctl.io/podcidrs/blocks/";
const nodePrefix = "/registry/kctl.io/podcidrs/nodes/";
const maxAttempts = 16;

export class PodCidrAllocator {
  private readonly cluster: Cidr;
  private readonly count: number;

  constructor(
    private readonly client: Etcd3,
    clusterCidr: string,
    private readonly nodePrefixLength = 24,
  ) {
    this.cluster = parseCidr(clusterCidr);
    if (nodePrefixLength < this.cluster.prefix || nodePrefixLength > 30) {
      throw new RangeError(`node CIDR length /${nodePrefixLength} does not fit in ${clusterCidr}`);
    }
    this.count = cidrSize(this.cluster) / 2 ** (32 - nodePrefixLength);
  }

  get clusterCidr(): string {
    return formatCidr(this.cluster);
  }

  /** The node's block, allocating the lowest free one the first time. Throws ServiceUnavailable when full. */
  async allocate(nodeName: string): Promise<string> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const existing = await this.client.get(nodePrefix + nodeName).string();
      if (existing) return existing;
      const taken = new Set(
        (await this.client.getAll().prefix(blockPrefix).keys()).map((k) => k.slice(blockPrefix.length)),
      );
      const free: number[] = [];
      for (let i = 0; i < this.count && free.length < 64; i++) if (!taken.has(String(i))) free.push(i);
      // The lowest free block first; after losing a race, a random free one, so that allocators
      // racing for the same block spread out instead of colliding again.
      const index = attempt === 0 ? free[0] : free[Math.floor(Math.random() * free.length)];
      if (index === undefined) {
        throw new ApiError(
          "ServiceUnavailable",
          `no free pod CIDR left in ${this.clusterCidr} for node "${nodeName}"`,
        );
      }
      const cidr = formatCidr(nthSubnet(this.cluster, this.nodePrefixLength, index));
      const blockKey = blockPrefix + index;
      const nodeKey = nodePrefix + nodeName;
      const res = await this.client.kv.txn({
        compare: [
          { key: Buffer.from(blockKey), target: "Create", result: "Equal", create_revision: 0 },
          { key: Buffer.from(nodeKey), target: "Create", result: "Equal", create_revision: 0 },
        ],
        success: [
          { request_put: { key: Buffer.from(blockKey), value: Buffer.from(nodeName) } },
          { request_put: { key: Buffer.from(nodeKey), value: Buffer.from(cidr) } },
        ],
        failure: [],
      });
      if (res.succeeded) return cidr;
    }
    throw new ApiError(
      "ServiceUnavailable",
      `pod CIDR allocation for node "${nodeName}" kept conflicting; retry`,
    );
  }

  /** Frees the node's block; a no-op when it has none. */
  async release(nodeName: string): Promise<void> {
    const cidr = await this.client.get(nodePrefix + nodeName).string();
    if (!cidr) return;
    const parsed = parseCidr(cidr);
    const index = (parsed.base - this.cluster.base) / 2 ** (32 - this.nodePrefixLength);
    await this.client.kv.txn({
      compare: [],
      success: [
        { request_delete_range: { key: Buffer.from(nodePrefix + nodeName) } },
        { request_delete_range: { key: Buffer.from(blockPrefix + index) } },
      ],
      failure: [],
    });
  }
}
