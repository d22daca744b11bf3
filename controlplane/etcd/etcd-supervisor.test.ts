import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { describe, expect, it } from "vitest";
import { superviseEtcd } from "./etcd-supervisor.js";

describe("superviseEtcd", () => {
  it("starts etcd again on the same data and port after it is killed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "etcd-supervised-"));
    const etcd = await superviseEtcd({ dataDir: join(dir, "etcd"), unsafeNoFsync: true });
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      await client.put("/k").value("before");
      const first = etcd.pid();
      process.kill(first, "SIGKILL");
      let value: string | null = null;
      for (let i = 0; i < 100 && value === null; i++) {
        await new Promise((r) => setTimeout(r, 100));
        value = await client
          .get("/k")
          .string()
          .catch(() => null);
      }
      expect(value).toBe("before");
      expect(etcd.pid()).not.toBe(first);
    } finally {
      client.close();
      await etcd.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
