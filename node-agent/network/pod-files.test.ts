import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { podHostname, renderHosts, renderResolvConf, writePodFiles } from "./pod-files.js";
import { hostVethName } from "./veth-name.js";

const dns = { nameservers: ["10.96.0.10"], clusterDomain: "cluster.local" };

describe("pod files", () => {
  it("renders hosts like the kubelet, with the pod's hostname and aliases", () => {
    const hosts = renderHosts({
      podName: "web-0",
      namespace: "default",
      podIP: "10.244.1.7",
      dns,
      hostAliases: [{ ip: "10.1.2.3", hostnames: ["foo.local", "bar.local"] }],
    });
    expect(hosts).toContain("127.0.0.1\tlocalhost\n");
    expect(hosts).toContain("10.244.1.7\tweb-0\n");
    expect(hosts.endsWith("# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n")).toBe(true);
  });

  it("renders resolv.conf with cluster search domains and ndots", () => {
    expect(renderResolvConf("team-a", dns)).toBe(
      "nameserver 10.96.0.10\nsearch team-a.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n",
    );
    expect(renderResolvConf("x", { nameservers: ["10.0.0.1"], searches: ["corp"] })).toBe(
      "nameserver 10.0.0.1\nsearch corp\n",
    );
  });

  it("refuses bad nameservers, aliases and hostnames naming the field", () => {
    expect(() => renderResolvConf("x", { nameservers: ["nope"] })).toThrow(/dns.nameservers\[0\]: "nope"/);
    expect(() =>
      renderResolvConf("x", { nameservers: ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"] }),
    ).toThrow(/at most 3/);
    expect(() =>
      renderHosts({
        podName: "p",
        namespace: "n",
        podIP: "10.0.0.2",
        dns,
        hostAliases: [{ ip: "x", hostnames: [] }],
      }),
    ).toThrow(/spec.hostAliases\[0\].ip/);
    expect(() => podHostname({ podName: "p", hostname: "Bad_Name" })).toThrow(/spec.hostname/);
  });

  it("cuts long pod names to a 63-character hostname", () => {
    expect(podHostname({ podName: `${"a".repeat(62)}-b` })).toBe("a".repeat(62));
  });

  it("writes the three files for bind mounting", async () => {
    const dir = await mkdtemp(join(tmpdir(), "podfiles-"));
    try {
      const paths = await writePodFiles(join(dir, "network"), {
        podName: "p",
        namespace: "n",
        podIP: "10.0.0.2",
        dns,
      });
      expect(await readFile(paths.hostname, "utf8")).toBe("p\n");
      expect(await readFile(paths.resolvConf, "utf8")).toContain("nameserver 10.96.0.10");
      expect(await readFile(paths.hosts, "utf8")).toContain("10.0.0.2\tp");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("names host veths deterministically within IFNAMSIZ", () => {
    const name = hostVethName("0c6f2a5e-3d1b-4bb7-9a0e-5f1f3c1e2d4a");
    expect(name).toBe(hostVethName("0c6f2a5e-3d1b-4bb7-9a0e-5f1f3c1e2d4a"));
    expect(name).toMatch(/^kveth[0-9a-f]{10}$/);
    expect(name).not.toBe(hostVethName("other"));
  });
});
