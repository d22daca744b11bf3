import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { describe, expect, it } from "vitest";
import { startEtcdProcess } from "../etcd/etcd-process.js";
import { startEtcd } from "./etcd-server.js";

describe("startEtcd", () => {
  it("starts a real etcd that stores keys and removes its data on stop", async () => {
    const etcd = await startEtcd();
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      await client.put("/k").value("v");
      expect(await client.get("/k").string()).toBe("v");
    } finally {
      client.close();
      await etcd.stop();
    }
  });
});

describe("startEtcdProcess", () => {
  it("stops an etcd that a killed parent left running on the same data dir", async () => {
    const dir = await mkdtemp(join(tmpdir(), "etcd-leftover-"));
    const dataDir = join(dir, "etcd");
    const first = await startEtcdProcess({ dataDir, unsafeNoFsync: true });
    try {
      // As if our process had been SIGKILLed: nobody stops the first etcd; a new start must.
      const second = await startEtcdProcess({ dataDir, unsafeNoFsync: true });
      await first.exited;
      await second.stop();
    } finally {
      await first.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
