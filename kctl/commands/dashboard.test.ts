import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ApiServer, startApiServer } from "../../controlplane/apiserver/server.js";
import type { Registry } from "../../controlplane/registry/index.js";
import { writeConfig } from "../config.js";
import { runKctl } from "../testing/run-kctl.js";

describe("kctl dashboard", () => {
  let dir: string;
  let server: ApiServer | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-dashboard-"));
    await mkdir(join(dir, "ui"));
    await writeFile(join(dir, "ui", "index.html"), "<!doctype html>");
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  // The dashboard paths never reach the registry.
  const start = async (uiDir?: string) => {
    server = await startApiServer({
      registry: {} as Registry,
      port: 0,
      authenticate: (t) => (t === "secret" ? { name: "admin" } : undefined),
      ...(uiDir ? { uiDir } : {}),
    });
    const config = join(dir, "config");
    await writeConfig(config, { server: server.url, token: "secret" });
    return (...argv: string[]) => runKctl(argv, { env: { KCTL_CONFIG: config } });
  };

  it("prints the URL under /ui/ and the config's token", async () => {
    const kctl = await start(join(dir, "ui"));
    const r = await kctl("dashboard");
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toBe(`Dashboard: ${server!.url}/ui/\nToken:     secret\n`);
  });

  it("fails naming the server when it does not serve the dashboard", async () => {
    const kctl = await start();
    const r = await kctl("dashboard");
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${server!.url} does not serve the dashboard at /ui/`);
  });

  it("fails naming the config when it has no token to log in with", async () => {
    const config = join(dir, "cert-config");
    await writeFile(
      config,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]",
        "users: [{name: u, user: {}}]",
        "contexts: [{name: x, context: {cluster: c, user: u}}]",
        "current-context: x",
        "",
      ].join("\n"),
    );
    const r = await runKctl(["dashboard"], { env: { KCTL_CONFIG: config } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${config}: this config has no bearer token`);
  });
});
