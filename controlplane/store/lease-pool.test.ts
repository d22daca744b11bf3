import { describe, expect, it } from "vitest";
import { FakeClock } from "../../foundation/util/clock.js";
import { LeasePool } from "./lease-pool.js";

function pool() {
  const clock = new FakeClock(0);
  const grants: number[] = [];
  const leases = new LeasePool(clock, async (ttl) => {
    grants.push(ttl);
    return `lease-${grants.length}`;
  });
  return { clock, grants, leases };
}

describe("LeasePool", () => {
  it("shares one lease for 5% of its ttl and grants it for ttl plus that window", async () => {
    const { clock, grants, leases } = pool();
    // ttl 3600 → reuse window 180 s → granted for 3780 s.
    const [a, b] = await Promise.all([leases.lease(3600), leases.lease(3600)]);
    clock.advance(180_000);
    const c = await leases.lease(3600);
    expect([a, b, c]).toEqual(["lease-1", "lease-1", "lease-1"]);
    expect(grants).toEqual([3780]);
    clock.advance(1);
    expect(await leases.lease(3600)).toBe("lease-2");
  });

  it("keeps leases of different ttls apart and never shares below 20 s", async () => {
    const { grants, leases } = pool();
    await leases.lease(60);
    await leases.lease(10);
    await leases.lease(10);
    expect(grants).toEqual([63, 10, 10]);
  });

  it("grants a new lease after one is forgotten or a grant failed", async () => {
    const clock = new FakeClock(0);
    let n = 0;
    const leases = new LeasePool(clock, async () => {
      n++;
      if (n === 1) throw new Error("etcd down");
      return `lease-${n}`;
    });
    await expect(leases.lease(3600)).rejects.toThrow("etcd down");
    const id = await leases.lease(3600);
    expect(id).toBe("lease-2");
    leases.forget(id);
    expect(await leases.lease(3600)).toBe("lease-3");
  });
});
