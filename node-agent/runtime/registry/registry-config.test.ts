import { describe, expect, it } from "vitest";
import { endpointsFor, isLoopback, parseRegistryConfig } from "./registry-config.js";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

describe("endpointsFor", () => {
  it("uses HTTPS, docker.io's API host, and mirrors first", () => {
    expect(
      endpointsFor("docker.io", { hosts: { "docker.io": { mirrors: ["http://127.0.0.1:5001/"] } } }),
    ).toEqual([
      { base: "http://127.0.0.1:5001", registry: "127.0.0.1:5001", ca: undefined, mirror: true },
      { base: "https://registry-1.docker.io", registry: "docker.io", ca: undefined, mirror: false },
    ]);
    expect(endpointsFor("quay.io")[0]!.base).toBe("https://quay.io");
  });

  it("talks plain HTTP to loopback and to named registries, HTTPS when told or given a CA", () => {
    expect(endpointsFor("127.0.0.1:5000")[0]!.base).toBe("http://127.0.0.1:5000");
    expect(endpointsFor("localhost:5000")[0]!.base).toBe("http://localhost:5000");
    expect(endpointsFor("10.1.2.3:5000")[0]!.base).toBe("https://10.1.2.3:5000");
    expect(endpointsFor("10.1.2.3:5000", { hosts: { "10.1.2.3:5000": { plainHttp: true } } })[0]!.base).toBe(
      "http://10.1.2.3:5000",
    );
    expect(
      endpointsFor("127.0.0.1:5000", { hosts: { "127.0.0.1:5000": { plainHttp: false } } })[0]!.base,
    ).toBe("https://127.0.0.1:5000");
    expect(endpointsFor("127.0.0.1:5000", { hosts: { "127.0.0.1:5000": { ca: PEM } } })[0]).toEqual({
      base: "https://127.0.0.1:5000",
      registry: "127.0.0.1:5000",
      ca: PEM,
      mirror: false,
    });
  });

  it("knows loopback names and addresses", () => {
    for (const h of ["localhost", "127.0.0.1:5000", "127.10.0.1", "[::1]:5000", "::1"])
      expect(isLoopback(h)).toBe(true);
    for (const h of ["localhost.example.com", "128.0.0.1", "10.0.0.1:5000", "[::2]:5000"])
      expect(isLoopback(h)).toBe(false);
  });
});

describe("parseRegistryConfig", () => {
  it("accepts a full config", () => {
    const config = { hosts: { "docker.io": { mirrors: ["https://m.example"], plainHttp: false, ca: PEM } } };
    expect(parseRegistryConfig(config, "registries.json")).toEqual(config);
  });

  it.each([
    [{ hosts: [] }, "registries.json: hosts: must map registry hosts to settings"],
    [{ hosts: { a: { mirror: [] } } }, 'registries.json: hosts["a"].mirror: is not a known setting'],
    [
      { hosts: { a: { mirrors: ["ftp://x"] } } },
      'hosts["a"].mirrors[0]: "ftp://x" must be http(s)://host[:port] with no path',
    ],
    [{ hosts: { a: { mirrors: ["https://x/v2"] } } }, 'hosts["a"].mirrors[0]'],
    [{ hosts: { a: { plainHttp: "yes" } } }, 'hosts["a"].plainHttp: must be true or false'],
    [{ hosts: { a: { ca: "nope" } } }, 'hosts["a"].ca: must be PEM certificates'],
  ])("refuses %j naming the field", (value, message) => {
    expect(() => parseRegistryConfig(value, "registries.json")).toThrow(message);
  });
});
