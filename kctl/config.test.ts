import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configPath, readConfig, writeConfig } from "./config.js";

const ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

describe("kctl config (a kubeconfig)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-config-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("picks --config, then KCTL_CONFIG, then ~/.kctl/config", () => {
    expect(configPath("c.yaml", { KCTL_CONFIG: "/e" }, "/work")).toBe("/work/c.yaml");
    expect(configPath(undefined, { KCTL_CONFIG: "/e" }, "/work")).toBe("/e");
    expect(configPath(undefined, { HOME: "/home/u" }, "/work")).toBe("/home/u/.kctl/config");
  });

  it("writes a kubeconfig with mode 0600 in a new directory and reads it back", async () => {
    const path = join(dir, "sub", "config");
    await writeConfig(path, { server: "https://127.0.0.1:6443/", caPem: ca, token: "t0k" });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const raw = parse(await readFile(path, "utf8"));
    expect(raw).toMatchObject({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "kctl",
      clusters: [
        {
          name: "kctl",
          cluster: {
            server: "https://127.0.0.1:6443/",
            "certificate-authority-data": Buffer.from(ca).toString("base64"),
          },
        },
      ],
      users: [{ name: "kctl", user: { token: "t0k" } }],
      contexts: [{ name: "kctl", context: { cluster: "kctl", user: "kctl" } }],
    });
    expect(await readConfig(path)).toEqual({
      server: "https://127.0.0.1:6443",
      caPem: ca,
      token: "t0k",
      insecureSkipTlsVerify: false,
      namespace: "default",
      path,
    });
  });

  it("keeps other clusters of an existing file and switches the current context", async () => {
    const path = join(dir, "config");
    await writeConfig(path, { server: "http://a:1", token: "a", clusterName: "a", namespace: "demo" });
    await writeConfig(path, { server: "http://b:2", token: "b", clusterName: "b" });
    const raw = parse(await readFile(path, "utf8"));
    expect(raw.clusters.map((c: { name: string }) => c.name)).toEqual(["a", "b"]);
    expect((await readConfig(path)).server).toBe("http://b:2");
    await writeConfig(path, { server: "http://a:3", token: "a2", clusterName: "a", namespace: "demo" });
    expect(await readConfig(path)).toMatchObject({ server: "http://a:3", token: "a2", namespace: "demo" });
  });

  it.each([
    [
      undefined,
      /^no kctl config at .*\/config: run "kctl up" first, or pass --config PATH \(or set KCTL_CONFIG\)$/,
    ],
    [
      "a: [",
      /^the kctl config .*\/config is not valid YAML \(.*\): run "kctl up" to write a new one, or pass --config PATH$/,
    ],
    ["", /^the kctl config .*\/config is empty: run "kctl up"/],
    ["- 1\n", /^the kctl config .*\/config is not a kubeconfig mapping/],
    ["clusters: {}\n", /^the kctl config .*\/config: clusters must be a list/],
    ["apiVersion: v1\nkind: Config\n", /^the kctl config .*\/config: current-context is not set/],
    ["current-context: x\ncontexts: []\n", /current-context "x" names no entry in contexts/],
    [
      "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n",
      /context "x" names cluster "c", which is not in clusters/,
    ],
    [
      "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: 'ftp://x'}}]\n",
      /clusters\[name=c\]\.cluster\.server must be an http\(s\) URL/,
    ],
    [
      "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: 'http://x'}}]\n",
      /context "x" names user "u", which is not in users/,
    ],
    [
      "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: 'http://x', certificate-authority-data: bm9wZQ==}}]\n",
      /certificate-authority-data is not a base64-encoded PEM certificate/,
    ],
  ])("refuses a missing or broken config (%j) naming the path and what to do", async (text, message) => {
    const path = join(dir, "config");
    if (text !== undefined) await writeFile(path, text);
    await expect(readConfig(path)).rejects.toThrow(message);
  });
});
