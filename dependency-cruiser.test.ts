import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";

// Runs the real layer rules (.dependency-cruiser.cjs) on a small tree laid out like the repository,
// once clean and once with violations planted, so a rule that stops matching fails here.
const run = promisify(execFile);
const root = resolve(import.meta.dirname);
const depcruise = join(root, "node_modules", ".bin", "depcruise");
const config = join(root, ".dependency-cruiser.cjs");

const cleanTree: Record<string, string> = {
  "tsconfig.test.json": JSON.stringify({
    compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext" },
  }),
  "foundation/api/object.ts": "export interface KubeObject { kind: string }\n",
  "controlplane/client/informer.ts":
    'import type { KubeObject } from "../../foundation/api/object.js";\nexport type Informer = KubeObject;\n',
  "controlplane/store/store.ts":
    'import type { Informer } from "../client/informer.js";\nexport type Store = Informer;\n',
  "controlplane/controllers/gc/start.ts":
    'import type { Informer } from "../../client/informer.js";\nexport type Gc = Informer;\n',
  "controlplane/controllers/testing/fake.ts":
    'import type { Gc } from "../gc/start.js";\nexport type Fake = Gc;\n',
  "controlplane/controllers/gc/start.test.ts":
    'import type { Fake } from "../testing/fake.js";\nexport type T = Fake;\n',
  "controlplane/control-plane.ts":
    'import type { Gc } from "./controllers/gc/start.js";\nexport type ControlPlane = Gc;\n',
  "node-agent/agent/agent.ts":
    'import type { KubeObject } from "../../foundation/api/object.js";\nexport type Agent = KubeObject;\n',
  "kctl/commands/get.ts":
    'import type { KubeObject } from "../../foundation/api/object.js";\nexport type Get = KubeObject;\n',
  "kctl/commands/up.ts":
    'import type { ControlPlane } from "../../controlplane/control-plane.js";\nexport type Up = ControlPlane;\n',
};

const violations: Record<string, string> = {
  // The storage layer reaching up into a controller.
  "controlplane/store/reach-up.ts":
    'import type { Gc } from "../controllers/gc/start.js";\nexport type X = Gc;\n',
  // Production code using a test fake.
  "controlplane/controllers/gc/uses-fake.ts":
    'import type { Fake } from "../testing/fake.js";\nexport type Y = Fake;\n',
  // The client package importing the store.
  "controlplane/client/uses-store.ts":
    'import type { Store } from "../store/store.js";\nexport type Z = Store;\n',
  // A cycle.
  "foundation/api/a.ts": 'import { b } from "./b.js";\nexport const a = () => b;\n',
  "foundation/api/b.ts": 'import { a } from "./a.js";\nexport const b = () => a;\n',
  // The foundation reaching into a component.
  "foundation/api/uses-client.ts":
    'import type { Informer } from "../../controlplane/client/informer.js";\nexport type W = Informer;\n',
  // The node agent importing the control plane.
  "node-agent/agent/uses-store.ts":
    'import type { Store } from "../../controlplane/store/store.js";\nexport type V = Store;\n',
  // A kctl client command importing the control plane.
  "kctl/commands/uses-client.ts":
    'import type { Informer } from "../../controlplane/client/informer.js";\nexport type U = Informer;\n',
  // A command that runs a control plane reaching past its entry points.
  "kctl/commands/etcd.ts":
    'import type { Store } from "../../controlplane/store/store.js";\nexport type E = Store;\n',
};

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function cruise(files: Record<string, string>): Promise<{ code: number; output: string }> {
  dir = await mkdtemp(join(tmpdir(), "layers-"));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  try {
    const { stdout } = await run(
      depcruise,
      ["foundation", "controlplane", "node-agent", "kctl", "--config", config, "--output-type", "err"],
      {
        cwd: dir,
      },
    );
    return { code: 0, output: stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

describe("layer rules", () => {
  it("pass a tree that keeps them", async () => {
    const { code, output } = await cruise(cleanTree);
    expect(output).toContain("no dependency violations found");
    expect(code).toBe(0);
  });

  it("fail on each planted violation, naming its rule", async () => {
    const { code, output } = await cruise({ ...cleanTree, ...violations });
    expect(code).not.toBe(0);
    expect(output).toMatch(/store-stays-storage: controlplane\/store\/reach-up\.ts/);
    expect(output).toMatch(/no-testing-outside-tests: controlplane\/controllers\/gc\/uses-fake\.ts/);
    expect(output).toMatch(/client-below-its-users: controlplane\/client\/uses-store\.ts/);
    expect(output).toMatch(/no-circular: foundation\/api\/a\.ts/);
    expect(output).toMatch(/foundation-is-the-bottom: foundation\/api\/uses-client\.ts/);
    expect(output).toMatch(/agent-only-on-the-foundation: node-agent\/agent\/uses-store\.ts/);
    expect(output).toMatch(/cli-only-on-the-foundation: kctl\/commands\/uses-client\.ts/);
    expect(output).toMatch(/control-plane-hosts-through-entry-points: kctl\/commands\/etcd\.ts/);
    expect(output).not.toMatch(/kctl\/commands\/(get|up)\.ts/);
  });
});
