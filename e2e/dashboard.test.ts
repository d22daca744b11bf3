/**
 * The web dashboard in a real browser (Debian's chromium, headless, driven by playwright-core)
 * against a 3-host lab: log in with `kctl dashboard`'s token, see the hosts and the example's pods;
 * scale and restart from the UI and watch the map and the rollout timeline follow without a
 * reload; a `view` user's buttons refused by RBAC; a host cut and its pods reappearing elsewhere;
 * no serious accessibility findings (axe-core). Screenshots of each view are saved to
 * $KCTL_E2E_SCREENSHOTS (default $TMPDIR/kctl-e2e-screenshots).
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentsFor } from "../kctl/lab/components.js";
import {
  downLab,
  eventually,
  isRoot,
  type LabCluster,
  startLabCluster,
  withControlPlaneFlags,
} from "./support/lab-cluster.js";
import { loseHost } from "./support/lose-host.js";

const root = join(import.meta.dirname, "..");
const chromiumPath = "/usr/bin/chromium";
const shots = process.env.KCTL_E2E_SCREENSHOTS ?? join(tmpdir(), "kctl-e2e-screenshots");

// `view` has no nodes, as upstream's: "viewer" may also read them, "view-only" may not.
const viewerBinding = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: node-reader
rules:
  - apiGroups: [""]
    resources: ["nodes"]
    verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: dashboard-viewer
subjects:
  - kind: User
    name: viewer
    apiGroup: rbac.authorization.k8s.io
roleRef:
  kind: ClusterRole
  name: view
  apiGroup: rbac.authorization.k8s.io
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: dashboard-view-only
subjects:
  - kind: User
    name: view-only
    apiGroup: rbac.authorization.k8s.io
roleRef:
  kind: ClusterRole
  name: view
  apiGroup: rbac.authorization.k8s.io
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: dashboard-viewer-nodes
subjects:
  - kind: User
    name: viewer
    apiGroup: rbac.authorization.k8s.io
roleRef:
  kind: ClusterRole
  name: node-reader
  apiGroup: rbac.authorization.k8s.io
`;

/** A pod that writes a numbered line every second, for the pod page's log tail. */
const tickerPod = `
apiVersion: v1
kind: Pod
metadata:
  name: ticker
  namespace: demo
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: tick
      image: kctl.local/busybox:debian
      command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done"]
`;

/** Runs axe-core on the page; returns its serious and critical findings, one line each. */
async function seriousA11yFindings(page: Page): Promise<string[]> {
  const source = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  await page.evaluate(source);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe;
    return (await axe.run()).violations as { id: string; impact: string; nodes: { target: string[] }[] }[];
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

describe.skipIf(!isRoot || !existsSync(chromiumPath))(
  "the web dashboard in a browser",
  { timeout: 240_000 },
  () => {
    let lab: LabCluster;
    let browser: Browser;
    let url: string;
    let adminToken: string;
    let viewerToken: string;
    let viewOnlyToken: string;

    beforeAll(async () => {
      await mkdir(shots, { recursive: true });
      const components = withControlPlaneFlags(
        componentsFor("all"),
        "--node-monitor-grace-period",
        "6",
        "--pod-eviction-timeout",
        "4",
      );
      [lab, browser] = await Promise.all([
        startLabCluster("dash", 3, components),
        chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] }),
      ]);
      const applied = await lab.kctl(
        "apply",
        "-f",
        join(root, "manifests", "00-namespace.yaml"),
        "-f",
        join(root, "manifests", "web.yaml"),
      );
      expect(applied.code, applied.stderr).toBe(0);
      const printed = await lab.kctl("dashboard");
      expect(printed.code, printed.stderr).toBe(0);
      url = /^Dashboard: (\S+)$/m.exec(printed.stdout)![1]!;
      adminToken = /^Token: +(\S+)$/m.exec(printed.stdout)![1]!;
      const viewer = await lab.kctl("kubeconfig", "create-user", "viewer", "--token");
      expect(viewer.code, viewer.stderr).toBe(0);
      viewerToken = /token: (\S+)/.exec(viewer.stdout)![1]!;
      const viewOnly = await lab.kctl("kubeconfig", "create-user", "view-only", "--token");
      expect(viewOnly.code, viewOnly.stderr).toBe(0);
      viewOnlyToken = /token: (\S+)/.exec(viewOnly.stdout)![1]!;
      expect((await lab.apply(viewerBinding)).code).toBe(0);
      expect((await lab.apply(tickerPod)).code).toBe(0);
    });
    afterAll(async () => {
      await browser?.close();
    });
    afterAll(downLab(() => lab));

    // Chromium aborts a navigation with ERR_NETWORK_CHANGED when any interface of its network
    // namespace comes or goes, which other lab tests running beside this one do; a user would
    // reload, so the test loads the page again.
    const load = async (page: Page) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await page.goto(url);
          return;
        } catch (err) {
          if (attempt >= 5 || !String(err).includes("ERR_NETWORK_CHANGED")) throw err;
        }
      }
    };
    /** A fresh tab logged in with `token` (the login lives in the tab's sessionStorage). */
    const open = async (token: string): Promise<Page> => {
      const context = await browser.newContext({
        ignoreHTTPSErrors: true,
        viewport: { width: 1280, height: 800 },
      });
      const page = await context.newPage();
      await load(page);
      await page.getByLabel("Bearer token").fill(token);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("heading", { name: "Cluster map" }).waitFor();
      return page;
    };
    const readyWebOnMap = (page: Page) => page.locator('[data-host] a.pod.ready[data-pod^="demo/web-"]');
    const card = (page: Page) => page.locator('[data-deployment="web"]');
    const confirm = (page: Page) => page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();

    it("refuses a bad token, then shows the 3 hosts with the example's pods on them", async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await load(page);
      await page.getByLabel("Bearer token").fill("not-a-token");
      await page.getByRole("button", { name: "Log in" }).click();
      await expect.poll(() => page.getByRole("alert").textContent()).toContain("did not accept this token");
      await context.close();

      const map = await open(adminToken);
      await expect.poll(() => map.locator("[data-host]").count(), { timeout: 30_000 }).toBe(3);
      await expect.poll(() => readyWebOnMap(map).count(), { timeout: 90_000 }).toBe(3);
      expect(await map.locator('[data-host][data-state="ready"]').count()).toBe(3);
      await map.waitForTimeout(1000); // the pods' arrival animation
      await map.screenshot({ path: join(shots, "map.png") });
      expect(await seriousA11yFindings(map)).toEqual([]);
    });

    it("scales from the workloads view, and an open map shows the new pods without a reload", async () => {
      const map = await open(adminToken);
      await expect.poll(() => readyWebOnMap(map).count(), { timeout: 60_000 }).toBe(3);
      const workloads = await open(adminToken);
      await workloads.getByRole("link", { name: "Workloads" }).click();
      await card(workloads).getByRole("spinbutton", { name: "Replicas" }).fill("5");
      await card(workloads).getByRole("button", { name: "Scale" }).click();
      await expect
        .poll(() => workloads.getByRole("dialog").textContent())
        .toContain("Scale web from 3 to 5 replicas?");
      await confirm(workloads);
      await expect.poll(() => workloads.getByRole("status").textContent()).toContain("Done: Scale web");
      await expect.poll(() => readyWebOnMap(map).count(), { timeout: 90_000 }).toBe(5);
      // The map tab never navigated: the new pods came through its watch.
      expect(map.url()).toMatch(/\/ui\/$/);
      await expect
        .poll(() => card(workloads).locator("[data-phase]").textContent(), { timeout: 60_000 })
        .toBe("complete");

      // Bad input: a negative count is refused on the page, nothing is sent.
      await card(workloads).getByRole("spinbutton", { name: "Replicas" }).fill("-2");
      await card(workloads).getByRole("button", { name: "Scale" }).click();
      await expect
        .poll(() => card(workloads).getByRole("alert").textContent())
        .toContain("at least 0, not -2");
      expect(await workloads.getByRole("dialog").isVisible()).toBe(false);
      await map.context().close();
      await workloads.context().close();
    });

    it("restarts the Deployment and draws the rollout's timeline to completion; pauses, resumes, undoes", async () => {
      const page = await open(adminToken);
      await page.getByRole("link", { name: "Workloads" }).click();
      await expect
        .poll(() => card(page).locator("[data-phase]").textContent(), { timeout: 60_000 })
        .toBe("complete");
      await card(page).getByRole("button", { name: "Restart" }).click();
      await confirm(page);
      await expect.poll(() => card(page).locator("tbody tr").count(), { timeout: 30_000 }).toBe(2);
      await expect
        .poll(() => card(page).locator("[data-phase]").textContent(), { timeout: 120_000 })
        .toBe("complete");
      // The new ReplicaSet's line climbed from 0 to all 5 while the page watched.
      const heights = new Set(
        ((await card(page).locator("polyline.series.new").getAttribute("points")) ?? "")
          .split(" ")
          .map((p) => p.split(",")[1]),
      );
      expect(heights.size).toBeGreaterThanOrEqual(3);
      expect(await card(page).textContent()).toContain("revision 2");
      await card(page).screenshot({ path: join(shots, "rollout.png") });
      expect(await seriousA11yFindings(page)).toEqual([]);

      // Pause and resume, then undo back to revision 1's template (as revision 3).
      const spec = async () =>
        (
          JSON.parse((await lab.kctl("get", "deployment", "web", "-n", "demo", "-o", "json")).stdout) as {
            spec: { paused?: boolean; template: { metadata: { annotations?: Record<string, string> } } };
          }
        ).spec;
      await card(page).getByRole("button", { name: "Pause" }).click();
      await confirm(page);
      await expect.poll(() => card(page).locator("[data-phase]").textContent()).toBe("paused");
      expect((await spec()).paused).toBe(true);
      await card(page).getByRole("button", { name: "Resume" }).click();
      await confirm(page);
      await expect.poll(async () => (await spec()).paused ?? false).toBe(false);
      await card(page).getByRole("button", { name: "Undo" }).click();
      await expect
        .poll(() => page.getByRole("dialog").textContent())
        .toContain("Roll web back to revision 1?");
      await confirm(page);
      await expect.poll(() => card(page).textContent(), { timeout: 120_000 }).toContain("revision 3");
      await expect
        .poll(() => card(page).locator("[data-phase]").textContent(), { timeout: 120_000 })
        .toBe("complete");
      expect(
        (await spec()).template.metadata.annotations?.["kubectl.kubernetes.io/restartedAt"],
      ).toBeUndefined();
      for (const view of ["Services", "Events"]) {
        await page.getByRole("link", { name: view }).click();
        await page.getByRole("heading", { name: view, level: 1 }).waitFor();
        await page.waitForTimeout(500);
        if (view === "Services") {
          await expect
            .poll(() => page.locator('[data-service="demo/web"]').textContent())
            .toContain("5 ready");
        }
        await page.screenshot({ path: join(shots, `${view.toLowerCase()}.png`) });
        expect(await seriousA11yFindings(page), view).toEqual([]);
      }
      await page.context().close();
    });

    it("lets a view user see everything and change nothing", async () => {
      const page = await open(viewerToken);
      await expect.poll(() => readyWebOnMap(page).count(), { timeout: 60_000 }).toBe(5);
      await page.getByRole("link", { name: "Workloads" }).click();
      await card(page).getByRole("spinbutton", { name: "Replicas" }).fill("1");
      await card(page).getByRole("button", { name: "Scale" }).click();
      await confirm(page);
      await expect
        .poll(() => page.getByRole("alert").first().textContent())
        .toContain('User "viewer" cannot patch resource "deployments/scale"');
      await card(page).getByRole("button", { name: "Restart" }).click();
      await confirm(page);
      await expect
        .poll(() => page.getByRole("alert").first().textContent())
        .toContain('User "viewer" cannot patch resource "deployments"');
      const deploy = JSON.parse(
        (await lab.kctl("get", "deployment", "web", "-n", "demo", "-o", "json")).stdout,
      ) as {
        spec: { replicas: number };
      };
      expect(deploy.spec.replicas).toBe(5);
      await page.context().close();
    });

    it("draws the hosts of a user who may not list nodes from the pods, their state unknown", async () => {
      const page = await open(viewOnlyToken);
      await expect.poll(() => readyWebOnMap(page).count(), { timeout: 60_000 }).toBe(5);
      expect(await page.locator("[data-host]").count()).toBeGreaterThan(0);
      expect(await page.locator('[data-host]:not([data-state="unknown"])').count()).toBe(0);
      await expect
        .poll(() => page.getByRole("alert").first().textContent())
        .toContain('cannot list resource "nodes"');
      await page.context().close();
    });

    it("dry-runs pasted YAML per document, shows the field the server refuses, then applies", async () => {
      const page = await open(adminToken);
      await page.getByRole("link", { name: "Apply" }).click();
      const manifest = page.getByLabel("Manifest (YAML; paste, or drop a file here)");
      const results = page.getByRole("list", { name: "result per document" });
      await manifest.fill(
        [
          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-dashboard\n  namespace: demo\ndata:\n  k: v",
          "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\n  namespace: demo\nspec:\n  replicas: -1\n" +
            "  selector: {matchLabels: {app: broken}}\n  template:\n    metadata: {labels: {app: broken}}\n" +
            "    spec: {containers: [{name: c, image: kctl.local/busybox:debian}]}",
        ].join("\n---\n"),
      );
      await page.getByRole("button", { name: "Dry run" }).click();
      await expect.poll(() => results.locator("li").count()).toBe(2);
      expect(await results.locator('[data-document="1"]').textContent()).toContain("valid (dry run)");
      expect(await results.locator('[data-document="2"]').textContent()).toContain("spec.replicas");
      expect(await page.getByRole("button", { name: "Apply", exact: true }).isDisabled()).toBe(true);
      await page.screenshot({ path: join(shots, "apply.png") });
      expect(await seriousA11yFindings(page)).toEqual([]);
      // Nothing was written by the dry run.
      expect((await lab.kctl("get", "configmap", "from-dashboard", "-n", "demo")).code).not.toBe(0);

      await manifest.fill(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-dashboard\n  namespace: demo\ndata:\n  k: v\n",
      );
      await page.getByRole("button", { name: "Dry run" }).click();
      await expect.poll(() => results.textContent()).toContain("valid (dry run)");
      await page.getByRole("button", { name: "Apply", exact: true }).click();
      await expect.poll(() => results.textContent()).toContain("ConfigMap demo/from-dashboard: applied");
      expect((await lab.kctl("get", "configmap", "from-dashboard", "-n", "demo")).code).toBe(0);
      await page.context().close();
    });

    it("follows a pod's log live on its page", async () => {
      const page = await open(adminToken);
      await page.locator('a.pod[data-pod="demo/ticker"]').click();
      const log = page.getByRole("log", { name: "log of tick" });
      const lastTick = async () => {
        const ticks = [...((await log.textContent()) ?? "").matchAll(/tick (\d+)/g)];
        return ticks.length > 0 ? Number(ticks[ticks.length - 1]![1]) : -1;
      };
      await expect.poll(lastTick, { timeout: 60_000 }).toBeGreaterThanOrEqual(0);
      const first = await lastTick();
      // New lines arrive on the open stream, without a reload.
      await expect.poll(lastTick, { timeout: 30_000 }).toBeGreaterThanOrEqual(first + 3);
      expect(await seriousA11yFindings(page)).toEqual([]);
      await page.context().close();
    });

    it("marks a cut host unreachable and shows its pods reappear on the others", async () => {
      const page = await open(adminToken);
      await expect.poll(() => readyWebOnMap(page).count(), { timeout: 60_000 }).toBe(5);
      const lost = await eventually("a host running web pods", async () => {
        const hosts = await page.locator("[data-host]").evaluateAll((els) =>
          els.map((e) => ({
            name: e.getAttribute("data-host")!,
            web: e.querySelectorAll('a.pod[data-pod^="demo/web-"]').length,
          })),
        );
        return hosts.find((h) => h.web > 0)?.name;
      });
      await loseHost(lab, lost);
      const lostBox = page.locator(`[data-host="${lost}"]`);
      await expect.poll(() => lostBox.getAttribute("data-state"), { timeout: 90_000 }).toBe("unreachable");
      await expect
        .poll(
          async () =>
            (await readyWebOnMap(page).count()) === 5 &&
            (await lostBox.locator('a.pod.ready[data-pod^="demo/web-"]').count()) === 0,
          { timeout: 120_000 },
        )
        .toBe(true);
      await page.waitForTimeout(1000); // the replacements' arrival animation
      await page.locator("main").screenshot({ path: join(shots, "map-host-lost.png") });

      // The pod page of a replacement: its conditions and container state, live.
      await page.locator('[data-host] a.pod.ready[data-pod^="demo/web-"]').first().click();
      await page.getByRole("heading", { name: "Containers" }).waitFor();
      await expect.poll(() => page.locator("main").textContent()).toContain("running");
      await page.screenshot({ path: join(shots, "pod.png") });
      expect(await seriousA11yFindings(page)).toEqual([]);
      await page.context().close();
    });
  },
);
