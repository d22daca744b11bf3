import { link, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Pod } from "../../proto/gen/api.js";
import { diskUsage, emptyDirOverLimit } from "./emptydir-usage.js";

describe("emptyDir usage", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "emptydir-usage-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("counts allocated blocks, hard links once, and does not follow symlinks", async () => {
    const empty = await diskUsage(dir);
    await mkdir(join(dir, "sub"));
    await writeFile(join(dir, "sub", "big"), Buffer.alloc(1 << 20, 1));
    await link(join(dir, "sub", "big"), join(dir, "again"));
    await symlink("/usr", join(dir, "usr"));
    const used = await diskUsage(dir);
    expect(used - empty).toBeGreaterThanOrEqual(1 << 20);
    expect(used - empty).toBeLessThan(2 << 20);
  });

  it("names the first disk-backed emptyDir over its sizeLimit with the kubelet's message", async () => {
    const pod: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: {
        containers: [],
        volumes: [
          { name: "mem", emptyDir: { medium: "Memory", sizeLimit: "1Ki" } },
          { name: "small", emptyDir: { sizeLimit: "512Ki" } },
        ],
      },
    };
    const paths: Record<string, string> = { mem: dir, small: dir };
    expect(await emptyDirOverLimit(pod, (v) => paths[v])).toBeUndefined();
    await writeFile(join(dir, "fill"), Buffer.alloc(600 << 10, 1));
    const over = await emptyDirOverLimit(pod, (v) => paths[v]);
    expect(over?.volume).toBe("small");
    expect(over?.message).toBe('Usage of EmptyDir volume "small" exceeds the limit "512Ki". ');
  });
});
