/**
 * The command table loads only the command that runs: the built executable is run under a module
 * load hook that writes down every module it loads, so a static import of a heavy command (or of
 * the control plane from a light one) fails here.
 */

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The built executable, as main.test.ts runs it (`npm test` builds before running the tests).
const dist = join(import.meta.dirname, "../../dist");
const bin = join(dist, "kctl/main.js");

const dataUrl = (source: string) => `data:text/javascript,${encodeURIComponent(source)}`;

/** Runs `kctl ARGV` and returns the project modules it loaded, as paths under dist/. */
async function modulesLoadedBy(argv: string[], traceFile: string): Promise<string[]> {
  const hooks = `import { appendFileSync } from "node:fs";
    export async function load(url, context, nextLoad) {
      appendFileSync(${JSON.stringify(traceFile)}, url + "\\n");
      return nextLoad(url, context);
    }`;
  const register = `import { register } from "node:module"; register(${JSON.stringify(dataUrl(hooks))});`;
  const child = spawn(process.execPath, ["--import", dataUrl(register), bin, ...argv], {
    env: { ...process.env, KCTL_CONFIG: "/nonexistent/kctl-config" },
    stdio: "ignore",
  });
  await new Promise((resolve) => child.on("close", resolve));
  const root = `${pathToFileURL(dist).href}/`;
  return (await readFile(traceFile, "utf8"))
    .split("\n")
    .filter((url) => url.startsWith(root))
    .map((url) => url.slice(root.length));
}

const heavy = /^(controlplane|node-agent|kctl\/lab|kctl\/build)\//;

describe.runIf(existsSync(bin))("which modules a kctl command loads", () => {
  let dir: string;
  let runs = 0;
  const loaded = (...argv: string[]) => modulesLoadedBy(argv, join(dir, `trace-${runs++}`));
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-imports-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    [["version"], "version"],
    [["get", "pods"], "get"],
    [["-n", "demo", "get", "pods"], "get"],
  ])("%j loads neither the control plane, the node agent, the lab nor the builder", async (argv, command) => {
    const modules = await loaded(...argv);
    expect(modules).toContain(`kctl/commands/${command}.js`);
    expect(modules.filter((m) => heavy.test(m))).toEqual([]);
  });

  it("--help loads no command's module, and version --client not the API client", async () => {
    const modules = await loaded("--help");
    expect(modules).toContain("kctl/commands/index.js");
    expect(modules).not.toContain("kctl/client.js");
    expect(await loaded("version", "--client")).not.toContain("kctl/client.js");
    expect(modules.filter((m) => m.startsWith("kctl/commands/") && m !== "kctl/commands/index.js")).toEqual(
      [],
    );
  });

  it("a command's flag before any command word loads the first command that has it", async () => {
    const commands = (await loaded("-n", "demo", "--help")).filter((m) => m.startsWith("kctl/commands/"));
    expect(commands).toEqual(["kctl/commands/index.js", "kctl/commands/apply.js"]);
  });

  it("sees the control plane load when the command needs it (the trace works)", async () => {
    const modules = await loaded("up", "--help");
    expect(modules).toContain("controlplane/control-plane.js");
  });
});
