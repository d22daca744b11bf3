import { describe, expect, it } from "vitest";
import { parseFlags } from "../testing/parse-flags.js";
import { etcdChoice, etcdFlags } from "./etcd-flags.js";

const command = { name: "up", flags: etcdFlags };
const parse = (...argv: string[]) => parseFlags(command, argv);

describe("kctl up's etcd flags", () => {
  it("runs a local member on 2379/2380 by default, on free ports for --port 0", async () => {
    expect(etcdChoice(await parse(), "node1", false)).toEqual({
      member: { name: "node1", clientPort: 2379, peerPort: 2380 },
    });
    expect(etcdChoice(await parse(), "node1", true)).toEqual({ member: { name: "node1" } });
  });

  it("takes an initial cluster that names this member", async () => {
    const initial = "cp1=https://10.0.0.5:2380,cp2=https://10.0.0.6:2380";
    expect(
      etcdChoice(await parse("--etcd-name", "cp2", "--etcd-initial-cluster", initial), "n", false).member,
    ).toEqual({
      name: "cp2",
      clientPort: 2379,
      peerPort: 2380,
      initialCluster: initial,
    });
  });

  it("refuses a malformed initial cluster, or one without this member, naming the flag", async () => {
    await expect(async () =>
      etcdChoice(await parse("--etcd-initial-cluster", "cp1=10.0.0.5:2380"), "cp1", false),
    ).rejects.toThrow('--etcd-initial-cluster: "cp1=10.0.0.5:2380" is not name=https://IP:PORT');
    await expect(async () =>
      etcdChoice(await parse("--etcd-initial-cluster", "cp1=https://10.0.0.5:2380"), "cp9", false),
    ).rejects.toThrow('--etcd-initial-cluster: no member is named "cp9"');
    await expect(async () =>
      etcdChoice(await parse("--etcd-peer-port", "70000"), "n", false),
    ).rejects.toThrow("--etcd-peer-port must be between 1 and 65535 (got 70000)");
  });

  it("uses an external etcd, with all three certificate files for https", async () => {
    expect(etcdChoice(await parse("--etcd-endpoints", "http://10.0.0.9:2379"), "n", false)).toEqual({
      external: { endpoints: ["http://10.0.0.9:2379"] },
    });
    const tls = ["--etcd-cafile", "/ca", "--etcd-certfile", "/c", "--etcd-keyfile", "/k"];
    expect(etcdChoice(await parse("--etcd-endpoints", "https://e:2379", ...tls), "n", false)).toEqual({
      external: { endpoints: ["https://e:2379"], tls: { caFile: "/ca", certFile: "/c", keyFile: "/k" } },
    });
    await expect(async () =>
      etcdChoice(await parse("--etcd-endpoints", "https://e:2379"), "n", false),
    ).rejects.toThrow("an https --etcd-endpoints needs --etcd-cafile, --etcd-certfile and --etcd-keyfile");
    await expect(async () =>
      etcdChoice(await parse("--etcd-endpoints", "https://e:2379", "--etcd-cafile", "/ca"), "n", false),
    ).rejects.toThrow("go together");
    await expect(async () => etcdChoice(await parse("--etcd-cafile", "/ca"), "n", false)).rejects.toThrow(
      "--etcd-cafile is for an external etcd: it needs --etcd-endpoints",
    );
    await expect(async () =>
      etcdChoice(await parse("--etcd-endpoints", "e:2379"), "n", false),
    ).rejects.toThrow('--etcd-endpoints: "e:2379" is not a URL');
    await expect(async () =>
      etcdChoice(await parse("--etcd-endpoints", "http://e:2379", "--etcd-name", "x"), "n", false),
    ).rejects.toThrow("--etcd-name is for the etcd kctl runs; not with --etcd-endpoints");
  });
});
