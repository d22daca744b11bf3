import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { PodCidrAllocator } from "./pod-cidr-allocator.js";

describe("PodCidrAllocator on a real etcd", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
  });
  afterAll(async () => {
    client?.close();
    await etcd?.stop();
  });

  it("gives each node its own block, the same one again on re-registration, and reuses freed blocks", async () => {
    const alloc = new PodCidrAllocator(client, "10.244.0.0/16");
    expect(await alloc.allocate("n1")).toBe("10.244.0.0/24");
    expect(await alloc.allocate("n2")).toBe("10.244.1.0/24");
    expect(await alloc.allocate("n1")).toBe("10.244.0.0/24");
    await alloc.release("n1");
    expect(await alloc.allocate("n3")).toBe("10.244.0.0/24");
  });

  it("never hands a block out twice under concurrent allocation from two allocators", async () => {
    await client.delete().prefix("/registry/kctl.io/podcidrs/");
    const a = new PodCidrAllocator(client, "10.245.0.0/16");
    const b = new PodCidrAllocator(client, "10.245.0.0/16");
    const names = Array.from({ length: 20 }, (_, i) => `node${i}`);
    const cidrs = await Promise.all(names.map((n, i) => (i % 2 ? a : b).allocate(n)));
    expect(new Set(cidrs).size).toBe(names.length);
  });

  it("learns blocks another allocator took, and finds blocks it freed once its own view is full", async () => {
    await client.delete().prefix("/registry/kctl.io/podcidrs/");
    const a = new PodCidrAllocator(client, "10.247.0.0/22");
    const b = new PodCidrAllocator(client, "10.247.0.0/22");
    expect(await a.allocate("a1")).toBe("10.247.0.0/24");
    expect(await b.allocate("b1")).toBe("10.247.1.0/24");
    // a's view still has block 1 free: its transaction fails and it moves on to block 2.
    expect(await a.allocate("a2")).toBe("10.247.2.0/24");
    expect(await a.allocate("a3")).toBe("10.247.3.0/24");
    await b.release("b1");
    // a's view is full; it reads etcd again before calling the range exhausted.
    expect(await a.allocate("a4")).toBe("10.247.1.0/24");
    await expect(a.allocate("a5")).rejects.toThrow(/no free pod CIDR left/);
  });

  it("reports exhaustion as ServiceUnavailable", async () => {
    await client.delete().prefix("/registry/kctl.io/podcidrs/");
    const small = new PodCidrAllocator(client, "10.246.0.0/23");
    await small.allocate("x");
    await small.allocate("y");
    await expect(small.allocate("z")).rejects.toThrow(/no free pod CIDR left in 10.246.0.0\/23/);
  });
});
