/**
 * The lab as a user gets it: hosts that reach each other and nothing else, labs side by side,
 * components supervised in their namespaces and cgroups, and `lab down` (or a failed `lab up`)
 * leaving no namespace, link, route, mount, cgroup or process behind. Runs as root; every lab made
 * here is removed in afterAll even when a test fails.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pidsIn } from "../kctl/lab/cgroups-linux.js";
import { acceptsTcp, componentsFor, type LabComponents, pollUntil } from "../kctl/lab/components.js";
import { LabError } from "../kctl/lab/errors.js";
import { labDown } from "../kctl/lab/lab-down.js";
import { labExec } from "../kctl/lab/lab-exec.js";
import { LAB_UPLINK, labCgroupName, labNamespace, rootVethName } from "../kctl/lab/lab-names.js";
import { restartComponent } from "../kctl/lab/lab-restart.js";
import { type LabState, registeredLabDir, stateFilePath } from "../kctl/lab/lab-state.js";
import { labStatus } from "../kctl/lab/lab-status.js";
import { labUp } from "../kctl/lab/lab-up.js";
import { currentMountsBeneath } from "../kctl/lab/mounts-linux.js";
import { isRunning } from "../kctl/lab/processes.js";
import { mustRun, runCommand } from "../kctl/lab/run-command.js";
import { listNamespaces, routeGet } from "../kctl/lab/topology-linux.js";
import { ownHierarchies } from "../node-agent/cgroups/hierarchies-linux.js";

// Names carry the pid so a concurrent run of this file cannot collide with this one.
const tag = (process.pid % 10000).toString(36);
const names = { a: `ea${tag}`, b: `eb${tag}`, p: `ep${tag}`, f: `ef${tag}`, l: `el${tag}`, c: `ec${tag}` };

let root: string;
let registryDir: string;
let webRoot: string;
const made = new Set<string>();

function target(name: string) {
  made.add(name);
  return { name, labDir: join(root, name), registryDir };
}

function inNs(ns: string, ...argv: string[]) {
  return runCommand(["ip", "netns", "exec", ns, ...argv]);
}

async function ping(ns: string, address: string): Promise<boolean> {
  return (await inNs(ns, "busybox", "ping", "-c", "1", "-W", "1", address)).code === 0;
}

async function wget(ns: string, url: string): Promise<string | undefined> {
  // busybox 1.35's wget crashes on -T, so the time limit comes from timeout(1).
  const res = await inNs(ns, "timeout", "3", "busybox", "wget", "-q", "-O", "-", url);
  return res.code === 0 ? res.stdout : undefined;
}

/** Everything a lab could leave behind, as seen from the root namespace. */
async function leftovers(name: string, labDir: string, pids: readonly number[]): Promise<string[]> {
  const found: string[] = [];
  for (const ns of await listNamespaces()) {
    if (ns === labNamespace(name) || ns.startsWith(`${labNamespace(name)}-`)) found.push(`namespace ${ns}`);
  }
  if ((await runCommand(["ip", "link", "show", "dev", rootVethName(name)])).code === 0) {
    found.push(`link ${rootVethName(name)}`);
  }
  for (const h of await ownHierarchies()) {
    const dir = join(h.ownDir, labCgroupName(name));
    if (existsSync(dir)) found.push(`cgroup ${dir}`);
  }
  for (const m of await currentMountsBeneath(labDir)) found.push(`mount ${m}`);
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (stat && state !== "Z") found.push(`process ${pid}`);
  }
  if (existsSync(labDir)) found.push(`dir ${labDir}`);
  if (await registeredLabDir(registryDir, name)) found.push(`registry entry ${name}`);
  return found;
}

async function routesMentioning(prefix: string): Promise<string> {
  const out = await mustRun(["ip", "-4", "route", "show", "table", "all"]);
  return out
    .split("\n")
    .filter((l) => l.includes(prefix))
    .join("\n");
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kctl-lab-e2e-"));
  registryDir = join(root, "registry");
  webRoot = join(root, "www");
  await mkdir(webRoot);
  await writeFile(join(webRoot, "index.html"), "hello from the lab\n");
});

afterAll(async () => {
  for (const name of made) await labDown({ ...target(name), graceMs: 1_000 }).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

describe("a network-only lab", () => {
  let lab: LabState;

  beforeAll(async () => {
    lab = await labUp({ ...target(names.a), nodes: 3, components: componentsFor("none") });
  });

  it("records its network and hosts in the state file", async () => {
    const saved = JSON.parse(await readFile(stateFilePath(lab.labDir), "utf8")) as LabState;
    expect(saved.phase).toBe("ready");
    expect(saved.nodes.map((n) => n.name)).toEqual(["node1", "node2", "node3"]);
    expect(saved.labNamespace).toBe(labNamespace(names.a));
    expect(saved.rootVeth).toBe(rootVethName(names.a));
    expect(saved.processes).toEqual([]);
  });

  it("lets every host reach the gateway and every other host", async () => {
    for (const from of lab.nodes) {
      expect(await ping(from.namespace, lab.addresses!.gateway), `${from.name} → gateway`).toBe(true);
      for (const to of lab.nodes) {
        expect(await ping(from.namespace, to.address), `${from.name} → ${to.name}`).toBe(true);
      }
    }
  });

  it("has no route out: hosts route only to the gateway, the lab namespace has no route and does not forward", async () => {
    const outside = "1.1.1.1";
    for (const node of lab.nodes) {
      const r = await routeGet(node.namespace, outside);
      expect(r).toMatchObject({ reachable: true, gateway: lab.addresses!.gateway, dev: "eth0" });
    }
    const labNs = labNamespace(names.a);
    expect((await routeGet(labNs, outside)).reachable).toBe(false);
    const labRoutes = JSON.parse(
      await mustRun(["ip", "-n", labNs, "-j", "route", "show", "table", "all"]),
    ) as {
      dst: string;
    }[];
    expect(labRoutes.map((r) => r.dst)).not.toContain("default");
    expect((await inNs(labNs, "sysctl", "-n", "net.ipv4.ip_forward")).stdout.trim()).toBe("0");
    // The root namespace learns the gateway only, not the hosts' addresses.
    const rootToHost = await routeGet(undefined, lab.nodes[0]!.address);
    expect(rootToHost.dev).not.toBe(rootVethName(names.a));
    expect(await routeGet(undefined, lab.addresses!.gateway)).toMatchObject({ dev: rootVethName(names.a) });
  });

  it("runs commands on a host with their exit code", async () => {
    expect(await labExec({ ...target(names.a), node: "node2", argv: ["sh", "-c", "exit 7"] })).toBe(7);
    expect(await labExec({ ...target(names.a), node: "node2", argv: ["true"] })).toBe(0);
    await expect(labExec({ ...target(names.a), node: "node9", argv: ["true"] })).rejects.toThrow(
      /no node "node9" \(its nodes: node1, node2, node3\)/,
    );
    await expect(labExec({ ...target(names.a), node: "node1", argv: [] })).rejects.toThrow(/CMD: no command/);
  });

  it("refuses a second lab up with the same name and leaves the first intact", async () => {
    const again = labUp({ ...target(names.a), nodes: 1, components: componentsFor("none") });
    await expect(again).rejects.toMatchObject({ code: "AlreadyExists" });
    expect(await ping(lab.nodes[0]!.namespace, lab.nodes[2]!.address)).toBe(true);
  });

  it("refuses bad names and node counts naming the flag", async () => {
    await expect(
      labUp({ ...target("Bad_Name"), nodes: 1, components: componentsFor("none") }),
    ).rejects.toThrow(/--name: "Bad_Name" is not a valid lab name/);
    await expect(
      labUp({ ...target(`n${tag}`), nodes: 0, components: componentsFor("none") }),
    ).rejects.toThrow(/--nodes: must be a whole number from 1 to 200, got 0/);
  });

  describe("next to a second lab, on two subnets", () => {
    let other: LabState;

    beforeAll(async () => {
      other = await labUp({ ...target(names.b), nodes: 3, subnets: 2, components: componentsFor("none") });
    });

    it("deals its hosts over two subnets the lab namespace routes between, and nowhere else", async () => {
      const k = other.addresses!.index;
      expect(other.nodes.map((n) => n.address)).toEqual([`10.${k}.0.11`, `10.${k}.1.12`, `10.${k}.0.13`]);
      const [n1, n2] = other.nodes as [LabState["nodes"][0], LabState["nodes"][0]];
      expect(await routeGet(n2.namespace, n1.address)).toMatchObject({ gateway: `10.${k}.1.1` });
      expect(await ping(n2.namespace, n1.address)).toBe(true);
      expect(await ping(n1.namespace, n2.address)).toBe(true);
      // Both gateways are the lab namespace's own: the control plane's address answers every host.
      expect(await ping(n2.namespace, other.addresses!.gateway)).toBe(true);
      // Forwarding is on, yet nothing a host sends is forwarded to the root namespace. No reply
      // would come back anyway, so the test counts the pings leaving by the uplink instead.
      const labNs = labNamespace(names.b);
      expect((await inNs(labNs, "sysctl", "-n", "net.ipv4.ip_forward")).stdout.trim()).toBe("1");
      await mustRun(
        ["ip", "netns", "exec", labNs, "nft", "-f", "-"],
        [
          "table inet e2e-probe {",
          "  chain out {",
          "    type filter hook postrouting priority 0;",
          `    oifname "${LAB_UPLINK}" icmp type echo-request counter`,
          "  }",
          "}",
          "",
        ].join("\n"),
      );
      expect(await ping(n2.namespace, other.addresses!.transitRoot)).toBe(false);
      expect(await ping(n1.namespace, other.addresses!.transitRoot)).toBe(false);
      const counted = await mustRun([
        "ip",
        "netns",
        "exec",
        labNs,
        "nft",
        "list",
        "table",
        "inet",
        "e2e-probe",
      ]);
      expect(counted).toContain("counter packets 0 ");
    });

    it("gets its own subnet, and neither lab reaches the other", async () => {
      expect(other.addresses!.index).not.toBe(lab.addresses!.index);
      expect(await ping(other.nodes[0]!.namespace, other.nodes[1]!.address)).toBe(true);
      expect(await ping(lab.nodes[0]!.namespace, other.nodes[0]!.address)).toBe(false);
      expect(await ping(other.nodes[0]!.namespace, lab.addresses!.gateway)).toBe(false);
      expect((await labStatus(registryDir)).map((s) => s.state.name)).toEqual(
        expect.arrayContaining([names.a, names.b]),
      );
    });

    it("goes away alone on lab down, twice in a row", async () => {
      await labDown(target(names.b));
      await labDown(target(names.b));
      expect(await leftovers(names.b, other.labDir, [])).toEqual([]);
      expect(await routesMentioning(`10.${other.addresses!.index}.`)).toBe("");
      expect(await ping(lab.nodes[0]!.namespace, lab.nodes[1]!.address)).toBe(true);
    });
  });

  it("leaves nothing behind on lab down", async () => {
    await labDown(target(names.a));
    expect(await leftovers(names.a, lab.labDir, [])).toEqual([]);
    expect(await routesMentioning(`10.${lab.addresses!.index}.`)).toBe("");
  });
});

/**
 * Real processes stand in for the control plane and agents: busybox httpd in the lab namespace and
 * on each host. Each "agent" also daemonizes a second httpd, whose pid the lab never learns, so only
 * the cgroup can find it.
 */
function httpdComponents(webRoot: string, failingNode?: string): LabComponents {
  return {
    profile: "test-httpd",
    controlPlane: (ctx) => ({
      argv: ["busybox", "httpd", "-f", "-p", `${ctx.addresses.gateway}:${ctx.apiPort}`, "-h", webRoot],
    }),
    controlPlaneReady: (ctx, signal) =>
      pollUntil(() => acceptsTcp(ctx.addresses.gateway, ctx.apiPort), signal),
    agent: (_ctx, node) => ({
      argv:
        node.name === failingNode
          ? ["/nonexistent/agent"]
          : [
              "sh",
              "-c",
              `busybox httpd -p ${node.address}:8081 -h ${webRoot}; exec busybox httpd -f -p ${node.address}:8080 -h ${webRoot}`,
            ],
    }),
    nodesReady: (ctx, signal) =>
      pollUntil(async () => {
        for (const n of ctx.nodes)
          if ((await wget(ctx.nodes[0]!.namespace, `http://${n.address}:8080/`)) === undefined) return false;
        return true;
      }, signal),
  };
}

describe("a lab with processes", () => {
  let lab: LabState;
  let pids: number[] = [];

  beforeAll(async () => {
    lab = await labUp({ ...target(names.p), nodes: 3, components: httpdComponents(webRoot), graceMs: 2_000 });
  });

  it("runs each component in its namespace and cgroups, detached, and serves from the gateway", async () => {
    expect(lab.processes.map((p) => p.name)).toEqual(["controlplane", "node1", "node2", "node3"]);
    for (const p of lab.processes) {
      expect(await isRunning(p)).toBe(true);
      const stat = await readFile(`/proc/${p.pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      expect(Number(fields[3]), `${p.name} leads its own session`).toBe(p.pid);
      const cgroupOf = await readFile(`/proc/${p.pid}/cgroup`, "utf8");
      expect(cgroupOf).toContain(`/${labCgroupName(names.p)}/${p.name}`);
      const netns = await mustRun(["ip", "netns", "identify", String(p.pid)]);
      expect(netns.trim()).toBe(p.namespace);
    }
    expect(await wget(lab.nodes[2]!.namespace, `http://${lab.addresses!.gateway}:6443/`)).toBe(
      "hello from the lab\n",
    );
    const fromRoot = await fetch(`http://${lab.addresses!.gateway}:6443/`);
    expect(await fromRoot.text()).toBe("hello from the lab\n");
    expect(await wget(lab.nodes[0]!.namespace, `http://${lab.nodes[1]!.address}:8081/`)).toBe(
      "hello from the lab\n",
    );
  });

  it("restarts a killed agent under a new pid, keeping what the old one started", async () => {
    const node2 = lab.nodes[1]!;
    const old = lab.processes.find((p) => p.name === "node2")!;
    const daemonsBefore = await pidsIn(join(lab.cgroups[0]!, "node2"));
    const restarted = await restartComponent({
      ...target(names.p),
      component: "node2",
      components: httpdComponents(webRoot),
      graceMs: 0,
    });
    expect(restarted.record.pid).not.toBe(old.pid);
    expect(await isRunning(old)).toBe(false);
    // The daemon the first agent left behind is still there, next to the new agent.
    const after = await pidsIn(join(lab.cgroups[0]!, "node2"));
    expect(after).toEqual(expect.arrayContaining(daemonsBefore.filter((p) => p !== old.pid)));
    await pollUntil(
      async () => (await wget(lab.nodes[0]!.namespace, `http://${node2.address}:8080/`)) !== undefined,
      AbortSignal.timeout(10_000),
    );
    const saved = JSON.parse(await readFile(stateFilePath(lab.labDir), "utf8")) as LabState;
    expect(saved.processes.find((p) => p.name === "node2")!.pid).toBe(restarted.record.pid);
    lab = saved;
    await expect(
      restartComponent({
        ...target(names.p),
        component: "node9",
        components: httpdComponents(webRoot),
        graceMs: 0,
      }),
    ).rejects.toThrow(/no component "node9"/);
  });

  it("lab down stops recorded and unrecorded processes and undoes mounts and nft tables", async () => {
    for (const dir of lab.cgroups) pids.push(...(await pidsIn(dir)));
    pids = [...new Set(pids)];
    // The daemonized httpd of each node is in the cgroups but not in the state file.
    expect(pids.length).toBeGreaterThan(lab.processes.length);
    const node1Dir = lab.processes.find((p) => p.name === "node1")!.stateDir;
    await mkdir(join(node1Dir, "rootfs"), { recursive: true });
    await mustRun(["mount", "-t", "tmpfs", "kctl-lab-test", join(node1Dir, "rootfs")]);
    await mkdir(join(node1Dir, "rootfs", "inner"));
    await mustRun(["mount", "-t", "tmpfs", "kctl-lab-test", join(node1Dir, "rootfs", "inner")]);
    await writeFile(join(node1Dir, "pod-netns"), "");
    await mustRun(["mount", "--bind", `/run/netns/${lab.nodes[0]!.namespace}`, join(node1Dir, "pod-netns")]);
    await mustRun([
      "ip",
      "netns",
      "exec",
      lab.nodes[0]!.namespace,
      "nft",
      "add",
      "table",
      "inet",
      "kctl_lab_test",
    ]);

    await labDown(target(names.p));
    expect(await leftovers(names.p, lab.labDir, pids)).toEqual([]);
    const rootTables = await mustRun(["nft", "list", "tables"]);
    expect(rootTables).not.toContain("kctl_lab_test");
  });
});

describe("a lab up that fails half-way", () => {
  it("rolls back a failed component start, naming it and showing its log", async () => {
    const err = await labUp({
      ...target(names.f),
      nodes: 3,
      components: httpdComponents(webRoot, "node2"),
      graceMs: 1_000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe("ComponentFailed");
    expect((err as LabError).message).toMatch(/node2:? exited with code \d+/);
    expect((err as LabError).message).toMatch(/--- node2 .*\n.*nonexistent/);
    expect(await leftovers(names.f, join(root, names.f), [])).toEqual([]);
  });

  it("rolls back when the nodes never become ready", async () => {
    const err = await labUp({
      ...target(names.f),
      nodes: 2,
      components: { profile: "never-ready", nodesReady: () => new Promise(() => undefined) },
      readyTimeoutMs: 1_000,
    }).catch((e: unknown) => e);
    expect((err as LabError).code).toBe("Timeout");
    expect(await leftovers(names.f, join(root, names.f), [])).toEqual([]);
  });

  it("rolls back when the hook throws after the network is built", async () => {
    const err = await labUp({
      ...target(names.f),
      nodes: 2,
      components: {
        profile: "broken-hook",
        controlPlane: () => {
          throw new Error("no control plane command configured");
        },
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toContain("no control plane command configured");
    expect(await leftovers(names.f, join(root, names.f), [])).toEqual([]);
  });
});

describe("lab down without a state file", () => {
  it("finds the lab's namespaces, link, cgroups and processes by name", async () => {
    const lab = await labUp({
      ...target(names.l),
      nodes: 2,
      components: httpdComponents(webRoot),
      graceMs: 1_000,
    });
    const pids: number[] = [];
    for (const dir of lab.cgroups) pids.push(...(await pidsIn(dir)));
    await rm(stateFilePath(lab.labDir));
    await labDown({ ...target(names.l), graceMs: 1_000 });
    expect(await leftovers(names.l, lab.labDir, pids)).toEqual([]);
  });
});

// The control plane the lab runs is the built CLI; `npm test` builds it first.
const kctlMain = fileURLToPath(new URL("../dist/kctl/main.js", import.meta.url));

describe.skipIf(!existsSync(kctlMain))("a lab with the real control plane", () => {
  it("serves the API at the gateway to the root namespace and the hosts, and goes away with its etcd", async () => {
    const lab = await labUp({
      ...target(names.c),
      nodes: 2,
      components: componentsFor("controlplane"),
      graceMs: 5_000,
    });
    const cp = lab.processes.find((p) => p.name === "controlplane")!;
    expect(cp.namespace).toBe(labNamespace(names.c));
    expect(lab.server).toBe(`https://${lab.addresses!.gateway}:6443`);
    const version = await mustRun([
      process.execPath,
      kctlMain,
      "--config",
      lab.clientConfig!,
      "version",
      "-o",
      "json",
    ]);
    expect(JSON.parse(version).serverVersion.gitVersion).toMatch(/kctl/);
    const fromHost = await inNs(lab.nodes[1]!.namespace, "curl", "-sk", `${lab.server}/version`);
    expect(fromHost.stdout).toContain("gitVersion");
    const pids: number[] = [];
    for (const dir of lab.cgroups) pids.push(...(await pidsIn(dir)));
    // The control plane and the etcd it spawned.
    expect(new Set(pids).size).toBeGreaterThanOrEqual(2);
    await labDown(target(names.c));
    expect(await leftovers(names.c, lab.labDir, pids)).toEqual([]);
  });
});
