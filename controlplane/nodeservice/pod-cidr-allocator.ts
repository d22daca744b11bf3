/**
 * Hands each node a podCIDR (a /24 of the cluster CIDR by default), recorded in etcd so that no
 * block is ever given to two nodes, even with several control planes racing: each allocation is one
 * etcd transaction that creates both the block's key and the node's key only if neither exists.
 * A node that registers again gets the block it already has. `release` frees a node's block.
 *
 * The allocator keeps its own view of the taken blocks (read from etcd once, then kept up to date by
 * its own writes) and a cursor below which every block is taken, so an allocation is one
 * transaction, not a read of every block key: registering N nodes costs O(N), not O(N²). The view
 * only guides the choice; etcd's compare decides. A block another allocator took makes the
 * transaction fail, and the view learns it; a block another allocator freed is found when the
 * view runs out and is read afresh before reporting the range full.
 */
import type { Etcd3 } from "etcd3";
import { ApiError } from "../../foundation/api/errors.js";
import { type Cidr, cidrSize, formatCidr, nthSubnet, parseCidr } from "../../foundation/util/ipv4.js";

const blockPrefix = "/registry/kctl.io/podcidrs/blocks/";
const nodePrefix = "/registry/kctl.io/podcidrs/nodes/";
const maxAttempts = 16;

export class PodCidrAllocator {
  private readonly cluster: Cidr;
  private readonly count: number;
  /** Blocks taken in etcd as far as this allocator knows. */
  private taken: Set<number> | undefined;
  /** Blocks this allocator is trying to take right now. */
  private readonly pending = new Set<number>();
  private loading: Promise<Set<number>> | undefined;
  /** Every block below this index is in `taken`. */
  private cursor = 0;

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
    const nodeKey = Buffer.from(nodePrefix + nodeName);
    const existing = await this.client.get(nodePrefix + nodeName).string();
    if (existing) return existing;
    let taken = await this.view();
    let reread = false;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      let index = this.lowestFree(taken);
      if (index === undefined && !reread) {
        // Others may have freed blocks since the view was read.
        reread = true;
        taken = await this.view(true);
        index = this.lowestFree(taken);
      }
      if (index === undefined) {
        throw new ApiError(
          "ServiceUnavailable",
          `no free pod CIDR left in ${this.clusterCidr} for node "${nodeName}"`,
        );
      }
      // Reserved before the await, so concurrent allocations here pick different blocks.
      this.pending.add(index);
      const cidr = formatCidr(nthSubnet(this.cluster, this.nodePrefixLength, index));
      const blockKey = Buffer.from(blockPrefix + index);
      let res: Awaited<ReturnType<Etcd3["kv"]["txn"]>>;
      try {
        res = await this.client.kv.txn({
          compare: [
            { key: blockKey, target: "Create", result: "Equal", create_revision: 0 },
            { key: nodeKey, target: "Create", result: "Equal", create_revision: 0 },
          ],
          success: [
            { request_put: { key: blockKey, value: Buffer.from(nodeName) } },
            { request_put: { key: nodeKey, value: Buffer.from(cidr) } },
          ],
          failure: [{ request_range: { key: blockKey } }, { request_range: { key: nodeKey } }],
        });
      } catch (err) {
        this.pending.delete(index);
        this.free(index);
        throw err;
      }
      this.pending.delete(index);
      if (res.succeeded || res.responses[0]?.response_range.kvs.length) this.taken?.add(index);
      else this.free(index);
      if (res.succeeded) return cidr;
      // Another control plane registered this node meanwhile: it keeps the block it was given.
      const mine = res.responses[1]?.response_range.kvs[0];
      if (mine) return mine.value.toString();
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
    this.free(index);
  }

  /** The taken blocks: read from etcd the first time (or again when `refresh`), then kept here. */
  private async view(refresh = false): Promise<Set<number>> {
    if (this.taken && !refresh) return this.taken;
    this.loading ??= this.client
      .getAll()
      .prefix(blockPrefix)
      .keys()
      .then((keys) => {
        const taken = new Set(keys.map((k) => Number(k.slice(blockPrefix.length))));
        this.taken = taken;
        this.cursor = 0;
        return taken;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  private lowestFree(taken: Set<number>): number | undefined {
    while (this.cursor < this.count && taken.has(this.cursor)) this.cursor++;
    let i = this.cursor;
    while (i < this.count && (taken.has(i) || this.pending.has(i))) i++;
    return i < this.count ? i : undefined;
  }

  private free(index: number): void {
    this.taken?.delete(index);
    if (index < this.cursor) this.cursor = index;
  }
}
