/**
 * Root test: pod sandboxes on a bridge inside a throwaway "host" namespace, so the machine's own
 * network is never touched. Everything lives beneath one scratch dir and is unmounted on exit.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toolSpawnCount } from "./commands-linux.js";
import { PodNetwork } from "./sandbox-linux.js";
import { makeNetns, makeScratchDir, mountsBeneath, removeScratchDir } from "./testing/scratch-linux.js";

const isRoot = process.getuid?.() === 0;

function inNs(netns: string, argv: string[]): string {
  return execFileSync("nsenter", [`--net=${netns}`, ...argv], { encoding: "utf8" });
}

interface IpAddr {
  ifname: string;
  mtu: number;
  operstate: string;
  flags: string[];
  addr_info: { family: string; local: string; prefixlen: number }[];
}

describe.skipIf(!isRoot)("pod sandbox network (root)", () => {
  let scratch: string;
  let host: string;
  let stateDir: string;
  const config = () => ({
    stateDir,
    podCIDR: "10.244.1.0/24",
    hostNetns: host,
    mtu: 1450,
    dns: { nameservers: ["10.96.0.10"], clusterDomain: "cluster.local" },
  });

  beforeAll(() => {
    scratch = makeScratchDir("kctl-net");
    host = makeNetns(join(scratch, "host"));
    stateDir = join(scratch, "state");
  });
  afterAll(() => {
    removeScratchDir(scratch);
  });

  it("two pods on one bridge reach each other and the gateway", async () => {
    const net = new PodNetwork(config());
    const a = await net.setupSandbox({ podUID: "uid-a", podName: "pod-a", namespace: "default" });
    const b = await net.setupSandbox({ podUID: "uid-b", podName: "pod-b", namespace: "default" });
    expect(a.ip).toBe("10.244.1.2");
    expect(b.ip).toBe("10.244.1.3");
    expect(a.gateway).toBe("10.244.1.1");

    const bridge = JSON.parse(inNs(host, ["ip", "-j", "addr", "show", "dev", "kctl0"])) as IpAddr[];
    expect(bridge[0]!.addr_info.map((x) => `${x.local}/${x.prefixlen}`)).toContain("10.244.1.1/24");
    expect(inNs(host, ["sysctl", "-n", "net.ipv4.ip_forward"]).trim()).toBe("1");

    const podLinks = JSON.parse(inNs(a.netnsPath, ["ip", "-j", "addr"])) as IpAddr[];
    const lo = podLinks.find((l) => l.ifname === "lo")!;
    const eth0 = podLinks.find((l) => l.ifname === "eth0")!;
    expect(lo.flags).toContain("UP");
    expect(eth0.flags).toContain("UP");
    expect(eth0.mtu).toBe(1450);
    expect(eth0.addr_info.find((x) => x.family === "inet")).toMatchObject({
      local: "10.244.1.2",
      prefixlen: 24,
    });
    expect(inNs(a.netnsPath, ["ip", "route", "show", "default"])).toContain(
      "default via 10.244.1.1 dev eth0",
    );
    const hostVeth = JSON.parse(
      inNs(host, ["ip", "-j", "-d", "link", "show", "dev", a.hostVeth]),
    ) as (IpAddr & {
      master?: string;
      linkinfo?: { info_slave_data?: { hairpin?: boolean } };
    })[];
    expect(hostVeth[0]!.mtu).toBe(1450);
    expect(hostVeth[0]!.master).toBe("kctl0");
    expect(hostVeth[0]!.flags).toContain("UP");
    expect(hostVeth[0]!.linkinfo?.info_slave_data?.hairpin).toBe(true);

    inNs(a.netnsPath, ["busybox", "ping", "-c", "1", "-W", "2", b.ip]);
    inNs(b.netnsPath, ["busybox", "ping", "-c", "1", "-W", "2", a.ip]);
    inNs(a.netnsPath, ["busybox", "ping", "-c", "1", "-W", "2", a.gateway]);

    await net.teardownSandbox("uid-a");
    await net.teardownSandbox("uid-b");
  });

  it("sets pods up and tears them down without a process per pod", async () => {
    const net = new PodNetwork(config());
    await net.setupSandbox({ podUID: "uid-warm", podName: "w", namespace: "default" });
    const before = toolSpawnCount();
    const s = await net.setupSandbox({ podUID: "uid-s", podName: "s", namespace: "default" });
    await net.setupSandbox({ podUID: "uid-s", podName: "s", namespace: "default" });
    await net.teardownSandbox("uid-s");
    await net.teardownSandbox("uid-warm");
    expect(toolSpawnCount() - before).toBe(0);
    expect(inNs(host, ["ip", "-o", "link"])).not.toContain(s.hostVeth);
  });

  it("writes hosts, resolv.conf and hostname for bind mounting", async () => {
    const net = new PodNetwork(config());
    const s = await net.setupSandbox({ podUID: "uid-f", podName: "web-0", namespace: "shop" });
    expect(execFileSync("cat", [s.files.hosts], { encoding: "utf8" })).toContain(`${s.ip}\tweb-0`);
    expect(execFileSync("cat", [s.files.resolvConf], { encoding: "utf8" })).toContain(
      "search shop.svc.cluster.local",
    );
    await net.teardownSandbox("uid-f");
    expect(existsSync(s.files.hosts)).toBe(false);
  });

  it("setup is idempotent and repairs a half-made sandbox with the same address", async () => {
    const net = new PodNetwork(config());
    const first = await net.setupSandbox({ podUID: "uid-i", podName: "p", namespace: "default" });
    const again = await net.setupSandbox({ podUID: "uid-i", podName: "p", namespace: "default" });
    expect(again).toEqual(first);
    // A crash that lost the veth: a new agent instance rebuilds it, keeping the address.
    inNs(host, ["ip", "link", "del", first.hostVeth]);
    const restarted = new PodNetwork(config());
    const repaired = await restarted.setupSandbox({ podUID: "uid-i", podName: "p", namespace: "default" });
    expect(repaired.ip).toBe(first.ip);
    inNs(repaired.netnsPath, ["busybox", "ping", "-c", "1", "-W", "2", repaired.gateway]);
    await restarted.teardownSandbox("uid-i");
  });

  it("teardown leaves no veth, netns mount or file, or IPAM entry, and is idempotent", async () => {
    const net = new PodNetwork(config());
    const s = await net.setupSandbox({ podUID: "uid-t", podName: "p", namespace: "default" });
    await net.teardownSandbox("uid-t");
    await net.teardownSandbox("uid-t");
    expect(inNs(host, ["ip", "-o", "link"])).not.toContain(s.hostVeth);
    expect(mountsBeneath(join(stateDir, "netns"))).toEqual([]);
    expect(existsSync(s.netnsPath)).toBe(false);
    const ipamDir = join(stateDir, "ipam", "10.244.1.0_24");
    expect(readdirSync(ipamDir).filter((n) => n.startsWith("10."))).toEqual([]);
    expect(await net.listSandboxes()).toEqual([]);
  });

  it("a restarted allocator never reuses the address of a live pod", async () => {
    const net = new PodNetwork(config());
    const live = await net.setupSandbox({ podUID: "uid-live", podName: "p", namespace: "default" });
    const restarted = new PodNetwork(config());
    const other = await restarted.setupSandbox({ podUID: "uid-new", podName: "q", namespace: "default" });
    expect(other.ip).not.toBe(live.ip);
    inNs(other.netnsPath, ["busybox", "ping", "-c", "1", "-W", "2", live.ip]);
    await restarted.teardownSandbox("uid-live");
    await restarted.teardownSandbox("uid-new");
  });

  it("refuses bad input naming the field, and leaves nothing behind", async () => {
    expect(() => new PodNetwork({ ...config(), podCIDR: "10.244.1.0" })).toThrow(/^podCIDR: /);
    expect(() => new PodNetwork({ ...config(), mtu: 100 })).toThrow(/^mtu: /);
    const net = new PodNetwork(config());
    await expect(net.setupSandbox({ podUID: "../x", podName: "p", namespace: "n" })).rejects.toThrow(
      /^podUID: /,
    );
    await expect(
      net.setupSandbox({ podUID: "uid-bad", podName: "p", namespace: "n", hostname: "NOT_OK" }),
    ).rejects.toThrow(/spec.hostname/);
    expect(existsSync(net.netnsPath("uid-bad"))).toBe(false);
    expect(inNs(host, ["ip", "-o", "link"])).not.toMatch(/kveth/);
    expect(readdirSync(join(stateDir, "ipam", "10.244.1.0_24")).filter((n) => n.startsWith("10."))).toEqual(
      [],
    );
  });
});
