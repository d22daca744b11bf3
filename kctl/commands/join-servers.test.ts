import { describe, expect, it } from "vitest";
import { nodeServiceTarget } from "../../node-agent/agent/node-client.js";
import { nodeServiceAddresses } from "./join.js";

describe("an agent of several control planes", () => {
  it("knows NodeService on every server's host, the joined one first, each once", () => {
    expect(
      nodeServiceAddresses("10.0.0.5:6444", [
        "https://10.0.0.5:6443",
        "https://10.0.0.6:6443/",
        "https://10.0.0.7:6443",
      ]),
    ).toBe("10.0.0.5:6444,10.0.0.6:6444,10.0.0.7:6444");
    expect(nodeServiceAddresses("10.0.0.5:6444", ["https://10.0.0.5:6443"])).toBe("10.0.0.5:6444");
  });

  it("gives grpc-js an ipv4: list for several IPv4 addresses and the first of anything else", () => {
    expect(nodeServiceTarget("10.0.0.5:6444")).toBe("10.0.0.5:6444");
    expect(nodeServiceTarget("10.0.0.5:6444,10.0.0.6:6444")).toBe("ipv4:10.0.0.5:6444,10.0.0.6:6444");
    expect(nodeServiceTarget("cp1:6444,cp2:6444")).toBe("cp1:6444");
  });
});
