import { describe, expect, it } from "vitest";
import type { Pod } from "../../proto/gen/api.js";
import { podAsPeer } from "./node-restriction.js";

describe("what nodes see of every pod (for NetworkPolicy)", () => {
  it("keeps labels, node, named ports and IPs, and drops env, images, volumes and annotations", () => {
    const pod: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "a",
        namespace: "x",
        uid: "u",
        labels: { app: "db" },
        annotations: { note: "private" },
      },
      spec: {
        nodeName: "n2",
        volumes: [{ name: "s", secret: { secretName: "db-password" } }],
        containers: [
          {
            name: "db",
            image: "registry.internal/db:1",
            env: [{ name: "PASSWORD", value: "hunter2" }],
            ports: [{ name: "sql", containerPort: 5432, protocol: "TCP" }],
          },
        ],
      },
      status: { phase: "Running", podIP: "10.244.2.5", podIPs: [{ ip: "10.244.2.5" }], message: "m" },
    };
    const seen = JSON.parse(JSON.stringify(podAsPeer(pod)));
    expect(seen).toEqual({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "a", namespace: "x", uid: "u", labels: { app: "db" } },
      spec: {
        nodeName: "n2",
        containers: [{ name: "db", ports: [{ name: "sql", containerPort: 5432, protocol: "TCP" }] }],
      },
      status: { phase: "Running", podIP: "10.244.2.5", podIPs: [{ ip: "10.244.2.5" }] },
    });
    expect(JSON.stringify(seen)).not.toMatch(/hunter2|db-password|registry\.internal|private/);
  });
});
