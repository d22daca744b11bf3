import { Etcd3 } from "etcd3";
import { describe, expect, it } from "vitest";
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
