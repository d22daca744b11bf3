import { describe, expect, it } from "vitest";
import { mayNeedReconcile } from "./link-watch-linux.js";

// Lines as `ip -o monitor link route` prints them (iproute2 6.1).
describe("mayNeedReconcile", () => {
  it.each([
    [
      "a host link set down",
      "3: eth0@if12: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN group default \\    link/ether b2:50:1a:d2:92:80 brd ff:ff:ff:ff:ff:ff",
      true,
    ],
    [
      "a host link up again",
      "3: eth0@if12: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \\    link/ether b2:50:1a:d2:92:80 brd ff:ff:ff:ff:ff:ff",
      true,
    ],
    ["another bridge", "5: br-lan: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP", true],
    // A port added or removed changes the pod bridge's carrier, MTU and address with every pod.
    ["the pod bridge", "4: kctl0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP", false],
    [
      "the pod bridge's features",
      "3: kctl0: <BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state UP group default event FEATURE CHANGE \\    link/ether 00:00:00:00:00:00 brd ff:ff:ff:ff:ff:ff",
      false,
    ],
    [
      "a pod's veth",
      "9: kveth0123456789@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master kctl0 state UP",
      false,
    ],
    ["a pod's veth removed", "Deleted 9: kveth0123456789@if2: <BROADCAST,MULTICAST> mtu 1500", false],
    ["an owned route deleted", "Deleted 10.244.2.0/24 via 10.100.0.12 dev eth0 proto 199 ", true],
    ["an owned route added", "10.244.2.0/24 via 10.100.0.12 dev eth0 proto 199 ", false],
    ["another route deleted", "Deleted 10.250.0.0/16 via 10.100.0.12 dev eth0 proto 19 ", false],
    ["an IPv6 route deleted", "Deleted fe80::/64 dev eth0 proto kernel metric 256 pref medium", false],
  ])("%s", (_what, line, want) => {
    expect(mayNeedReconcile(line, 199, "kctl0")).toBe(want);
  });
});
