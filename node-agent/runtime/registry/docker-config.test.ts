import { describe, expect, it } from "vitest";
import { parseDockerConfig, registryHost } from "./docker-config.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("parseDockerConfig", () => {
  it("reads .dockerconfigjson auths, reducing URL keys to registry hosts", () => {
    const creds = parseDockerConfig(
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: b64("alice:pa:ss") },
          "registry.example.com:5000": { username: "bob", password: "pw" },
          "http://10.0.0.1:5000/v2/": { identitytoken: "refresh" },
        },
      }),
      ".dockerconfigjson",
      "secret default/pull",
    );
    expect([...creds]).toEqual([
      ["docker.io", { username: "alice", password: "pa:ss" }],
      ["registry.example.com:5000", { username: "bob", password: "pw" }],
      ["10.0.0.1:5000", { identityToken: "refresh" }],
    ]);
  });

  it("reads the older .dockercfg map", () => {
    const creds = parseDockerConfig(
      JSON.stringify({ "quay.io": { auth: b64("u:p"), email: "u@example.com" } }),
      ".dockercfg",
      "secret s",
    );
    expect(creds.get("quay.io")).toEqual({ username: "u", password: "p" });
  });

  it.each([
    [".dockerconfigjson", "{", /secret s: \.dockerconfigjson is not valid JSON/],
    [".dockerconfigjson", '{"auths": []}', /secret s: auths: must be an object/],
    [
      ".dockerconfigjson",
      '{"auths": {"r.io": {"auth": "bm9jb2xvbg=="}}}',
      /auths\["r\.io"\]\.auth: must be base64 of "username:password"/,
    ],
    [".dockerconfigjson", '{"auths": {"r.io": {"auth": "%%%"}}}', /auths\["r\.io"\]\.auth/],
    [
      ".dockerconfigjson",
      '{"auths": {"r.io": {}}}',
      /auths\["r\.io"\]: has no auth, username or identitytoken/,
    ],
    [".dockercfg", '{"r.io": {"username": 5}}', /\["r\.io"\]\.username: must be a string/],
  ] as const)("refuses %s %s naming the field", (kind, text, message) => {
    expect(() => parseDockerConfig(text, kind, "secret s")).toThrow(message);
  });

  it("normalises registry keys", () => {
    expect(registryHost("https://registry-1.docker.io")).toBe("docker.io");
    expect(registryHost("Registry.Example.com/v1/")).toBe("registry.example.com");
  });
});
