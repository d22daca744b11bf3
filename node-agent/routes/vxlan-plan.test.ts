import { describe, expect, it } from "vitest";
import {
  deviceChanges,
  fdbChanges,
  neighbourChanges,
  type VxlanDeviceState,
  vtepAddress,
  vtepMac,
} from "./vxlan-plan.js";

const spec = { local: "192.168.1.1", mac: "0a:58:0a:f4:01:00", mtu: 1450, address: "10.244.1.0/32" };
const asSpecified: VxlanDeviceState = {
  vni: 1,
  local: "192.168.1.1",
  port: 4789,
  mac: "0a:58:0a:f4:01:00",
  mtu: 1450,
  up: true,
  addresses: ["10.244.1.0/32"],
};
const peers = [
  { vtep: "10.244.2.0", mac: "0a:58:0a:f4:02:00", underlayIP: "192.168.2.2" },
  { vtep: "10.244.3.0", mac: "0a:58:0a:f4:03:00", underlayIP: "192.168.2.3" },
];

describe("VTEP identity", () => {
  it("derives address and a unicast, locally administered MAC from the podCIDR", () => {
    expect(vtepAddress("10.244.17.0/24")).toBe("10.244.17.0");
    expect(vtepMac("10.244.17.0/24")).toBe("0a:58:0a:f4:11:00");
    expect(vtepMac("192.168.255.128/25")).toBe("0a:58:c0:a8:ff:80");
  });
});

describe("deviceChanges", () => {
  it("makes a missing device whole, learning off", () => {
    expect(deviceChanges(undefined, spec)).toEqual([
      "link add kctl-vxlan type vxlan id 1 local 192.168.1.1 dstport 4789 nolearning",
      "link set kctl-vxlan address 0a:58:0a:f4:01:00",
      "link set kctl-vxlan mtu 1450",
      "addr replace 10.244.1.0/32 dev kctl-vxlan",
      "link set kctl-vxlan up",
    ]);
  });

  it("changes nothing on a device as specified, and only what differs otherwise", () => {
    expect(deviceChanges(asSpecified, spec)).toEqual([]);
    expect(
      deviceChanges({ ...asSpecified, mtu: 1500, up: false, addresses: ["10.244.9.0/32"] }, spec),
    ).toEqual([
      "link set kctl-vxlan mtu 1450",
      "addr replace 10.244.1.0/32 dev kctl-vxlan",
      "addr del 10.244.9.0/32 dev kctl-vxlan",
      "link set kctl-vxlan up",
    ]);
  });

  it("makes the device anew when its VNI, local address or port is not ours", () => {
    for (const wrong of [{ vni: 7 }, { local: "192.168.1.9" }, { port: 8472 }]) {
      expect(deviceChanges({ ...asSpecified, ...wrong }, spec).slice(0, 2)).toEqual([
        "link del kctl-vxlan",
        "link add kctl-vxlan type vxlan id 1 local 192.168.1.1 dstport 4789 nolearning",
      ]);
    }
  });
});

describe("neighbour and forwarding entries", () => {
  it("adds missing and moved peers and deletes the ones no node needs", () => {
    const neigh = new Map([
      ["10.244.2.0", "0a:58:0a:f4:02:00"],
      ["10.244.9.0", "0a:58:0a:f4:09:00"],
    ]);
    expect(neighbourChanges(neigh, peers)).toEqual([
      "neigh replace 10.244.3.0 lladdr 0a:58:0a:f4:03:00 dev kctl-vxlan nud permanent",
      "neigh del 10.244.9.0 dev kctl-vxlan",
    ]);
    const fdb = new Map([
      ["0a:58:0a:f4:02:00", "192.168.2.9"],
      ["0a:58:0a:f4:03:00", "192.168.2.3"],
      ["0a:58:0a:f4:09:00", "192.168.2.9"],
    ]);
    expect(fdbChanges(fdb, peers)).toEqual([
      "fdb replace 0a:58:0a:f4:02:00 dev kctl-vxlan dst 192.168.2.2 self permanent",
      "fdb del 0a:58:0a:f4:09:00 dev kctl-vxlan dst 192.168.2.9 self",
    ]);
  });

  it("changes nothing when the kernel already has every peer", () => {
    const neigh = new Map(peers.map((p) => [p.vtep, p.mac]));
    const fdb = new Map(peers.map((p) => [p.mac, p.underlayIP]));
    expect(neighbourChanges(neigh, peers)).toEqual([]);
    expect(fdbChanges(fdb, peers)).toEqual([]);
  });
});
