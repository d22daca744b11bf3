import { describe, expect, it } from "vitest";
import { runKctl } from "./testing/run-kctl.js";

const noConfig = { env: { KCTL_CONFIG: "/nonexistent/kctl-config" } };

describe("kctl command line (no server needed)", () => {
  it("prints the command list for no arguments, help and --help", async () => {
    for (const argv of [[], ["help"], ["--help"], ["-n", "demo", "--help"], ["-n", "demo"]]) {
      const r = await runKctl(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Usage: kctl COMMAND");
      expect(r.stdout).toMatch(/ {2}apply {3,}Create or update objects/);
    }
    const r = await runKctl(["get", "--help"]);
    expect(r.stdout).toContain("Usage: kctl get KIND[,KIND] [NAME...]");
    expect(r.stdout).toContain("-o, --output FORMAT");
  });

  it.each([
    [["frobnicate"], 'error: unknown command "frobnicate" for "kctl"'],
    [["get", "pods", "--bogus"], 'error: unknown flag: --bogus for "kctl get"'],
    [
      ["get", "pods", "-o", "xml"],
      'error: invalid argument "xml" for "-o, --output" flag: must be one of: wide, yaml, json, name, jsonpath=TEMPLATE',
    ],
    [["apply"], "error: apply needs at least one -f FILE|DIR|-"],
    [["apply", "-f", "x.yaml", "extra"], 'error: unexpected argument "extra": apply reads objects from -f'],
    [
      ["get"],
      'error: you must specify the type of resource to get; "kctl api-resources" lists the supported types',
    ],
    [["delete", "pods"], "error: give names, -l SELECTOR or --all to say which objects to delete"],
    [
      ["delete", "po", "x", "--cascade=sideways"],
      'error: invalid argument "sideways" for "--cascade" flag: must be one of: background, foreground, orphan',
    ],
    [["help", "nope"], 'error: unknown command "nope" for "kctl"'],
    [
      ["delete", "-f", "x.yaml", "-l", "app=web"],
      "error: -f names the objects itself; -l and --all cannot be combined with it",
    ],
  ])("%j: one clear line, then usage, exit 2", async (argv, line) => {
    const r = await runKctl(argv, noConfig);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(line);
    expect(r.stderr).toContain("Usage: kctl");
    expect(r.stdout).toBe("");
  });

  it("names the missing config and what to do, exit 1", async () => {
    const r = await runKctl(["get", "pods"], noConfig);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: no kctl config at /nonexistent/kctl-config: run "kctl up" first, or pass --config PATH (or set KCTL_CONFIG)\n',
    );
  });

  it("refuses an unknown kind and a bad selector before contacting the server", async () => {
    const kind = await runKctl(["get", "gizmos"], noConfig);
    expect(kind.code).toBe(1);
    expect(kind.stderr).toBe(
      'error: the server doesn\'t have a resource type "gizmos"; "kctl api-resources" lists them\n',
    );
    const sel = await runKctl(["get", "pods", "-l", "app in (a"], noConfig);
    expect(sel.code).toBe(1);
    expect(sel.stderr).toMatch(/^error: -l\/--selector: .*\n$/);
  });

  it("reports bad manifests before reading the config, one line per problem", async () => {
    const r = await runKctl(["apply", "-f", "-"], {
      ...noConfig,
      stdin: "apiVersion: v1\nkind: Gadget\nmetadata: {name: a}\n---\nkind: Pod\n",
    });
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")).toEqual([
      expect.stringMatching(
        /^error: <stdin>: document 1: kind: no matches for kind "Gadget" in version "v1"/,
      ),
      "error: <stdin>: document 2: apiVersion: Required value: every object needs apiVersion and kind",
      "",
    ]);
  });

  it("prints the client version without a server", async () => {
    const r = await runKctl(["version", "--client"]);
    expect(r).toEqual({ code: 0, stdout: "Client Version: v0.1.0\n", stderr: "" });
  });

  it("says when the server cannot be reached", async () => {
    const r = await runKctl(["api-resources"], noConfig);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning: showing the resource types this kctl knows");
    expect(r.stdout.split("\n")[0]).toMatch(/^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND$/);
    expect(r.stdout).toMatch(/\ndeployments\s+deploy\s+apps\/v1\s+true\s+Deployment\n/);
  });
});
