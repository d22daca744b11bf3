import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseIpv4Cidr } from "./cidr.js";
import { HostLocalIpam } from "./ipam.js";

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "ipam-"));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe("HostLocalIpam", () => {
  it("allocates one file per address holding the pod UID, skipping the gateway", async () => {
    const ipam = new HostLocalIpam(stateDir, parseIpv4Cidr("10.244.1.0/24"));
    expect(await ipam.allocate("pod-a")).toBe("10.244.1.2");
    expect(await ipam.allocate("pod-b")).toBe("10.244.1.3");
    expect(await readFile(join(ipam.dir, "10.244.1.2"), "utf8")).toBe("pod-a\n");
    expect(ipam.dir).toBe(join(stateDir, "ipam", "10.244.1.0_24"));
  });

  it("is idempotent per pod, also under concurrent calls", async () => {
    const ipam = new HostLocalIpam(stateDir, parseIpv4Cidr("10.244.1.0/24"));
    const ips = await Promise.all([ipam.allocate("pod-a"), ipam.allocate("pod-a"), ipam.allocate("pod-a")]);
    expect(new Set(ips).size).toBe(1);
    expect((await readdir(ipam.dir)).filter((n) => n.startsWith("10."))).toHaveLength(1);
  });

  it("never reuses a live address after a restart, and does not reuse a freed one at once", async () => {
    const cidr = parseIpv4Cidr("10.244.1.0/24");
    const first = new HostLocalIpam(stateDir, cidr);
    await first.allocate("pod-a");
    await first.allocate("pod-b");
    await first.release("pod-a");
    const restarted = new HostLocalIpam(stateDir, cidr);
    expect(await restarted.lookup("pod-b")).toBe("10.244.1.3");
    expect(await restarted.allocate("pod-b")).toBe("10.244.1.3");
    expect(await restarted.allocate("pod-c")).toBe("10.244.1.4");
  });

  it("fills the range, never hands out network/gateway/broadcast, then reports exhaustion", async () => {
    const ipam = new HostLocalIpam(stateDir, parseIpv4Cidr("10.0.0.0/29"));
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await ipam.allocate(`p${i}`));
    expect(got.sort()).toEqual(["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
    await expect(ipam.allocate("p5")).rejects.toThrow(/no free address left in 10.0.0.0\/29/);
    expect(await ipam.release("p2")).toBe("10.0.0.4");
    expect(await ipam.release("p2")).toBeUndefined();
    expect(await ipam.allocate("p5")).toBe("10.0.0.4");
  });

  it("learns addresses another allocator took on disk", async () => {
    const cidr = parseIpv4Cidr("10.244.1.0/24");
    const a = new HostLocalIpam(stateDir, cidr);
    expect(await a.allocate("pod-a")).toBe("10.244.1.2");
    await writeFile(join(a.dir, "10.244.1.3"), "someone\n");
    expect(await a.allocate("pod-b")).toBe("10.244.1.4");
  });

  it("refuses a foreign file in its directory, naming it", async () => {
    const cidr = parseIpv4Cidr("10.244.1.0/24");
    const a = new HostLocalIpam(stateDir, cidr);
    await a.allocate("pod-a");
    await writeFile(join(a.dir, "10.9.9.9"), "x\n");
    await expect(new HostLocalIpam(stateDir, cidr).allocate("b")).rejects.toThrow(
      /10\.9\.9\.9 is not a pod address of 10.244.1.0\/24/,
    );
  });
});
