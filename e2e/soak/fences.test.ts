import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { componentLogFile } from "../../kctl/lab/lab-state.js";
import { fenceTimesOf, lateRenewalsOf } from "./fences.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function labWithLog(component: string, text: string): Promise<string> {
  const labDir = await mkdtemp(join(tmpdir(), "soak-fences-"));
  dirs.push(labDir);
  const file = componentLogFile(labDir, component);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
  return labDir;
}

describe("lease lines of the lab's logs", () => {
  it("reads a control plane's failed and slow renewals, with node and time taken", async () => {
    const labDir = await labWithLog(
      "controlplane-node1",
      [
        "control plane ready: https://10.100.0.11:6443 (node service 10.100.0.11:6444)",
        '2026-12-07T06:54:05.435Z [nodeservice] WARN lease renewal slower than the renew period "node2" "7129 ms"',
        '2026-12-07T06:54:06.000Z [nodeservice] WARN lease renewal failed "node5" "7001 ms" "Error: etcdserver: request timed out"',
        "",
      ].join("\n"),
    );
    expect(await lateRenewalsOf(labDir, "node1")).toEqual([
      { atMs: Date.parse("2026-12-07T06:54:05.435Z"), node: "node2", tookMs: 7129, failed: false },
      { atMs: Date.parse("2026-12-07T06:54:06.000Z"), node: "node5", tookMs: 7001, failed: true },
    ]);
    expect(await lateRenewalsOf(labDir, "node2")).toEqual([]);
  });

  it("reads when an agent fenced", async () => {
    const labDir = await labWithLog(
      "node3",
      '2026-12-07T06:54:06.896Z [pod-manager] WARN fencing: killing every pod "lease not renewed for 10s (fence at 10s)"\n',
    );
    expect(await fenceTimesOf(labDir, "node3")).toEqual([Date.parse("2026-12-07T06:54:06.896Z")]);
  });
});
