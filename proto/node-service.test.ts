import { describe, expect, it } from "vitest";
import { nodeServiceDefinition } from "./node-service.js";

describe("nodeServiceDefinition", () => {
  it("round-trips messages with defaults filled, bytes as Buffer, enums and oneofs by name", () => {
    const watch = nodeServiceDefinition.WatchPods!;
    const bytes = watch.responseSerialize({
      type: "MODIFIED",
      objectsJson: [Buffer.from("{}")],
      resourceVersion: "7",
    });
    expect(watch.responseDeserialize(bytes)).toEqual({
      type: "MODIFIED",
      objectsJson: [Buffer.from("{}")],
      resourceVersion: "7",
    });
    const tunnel = nodeServiceDefinition.Tunnel!;
    const frame = tunnel.requestDeserialize(
      tunnel.requestSerialize({ streamId: 3, stdout: Buffer.from("hi") }),
    ) as Record<string, unknown>;
    expect(frame.frame).toBe("stdout");
    expect(frame.stdout).toEqual(Buffer.from("hi"));
    expect(watch.path).toBe("/kctl.node.NodeService/WatchPods");
    expect(watch.responseStream).toBe(true);
  });
});
