import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resourceForKind } from "../../foundation/api/resources.js";
import { FakeClock } from "../../foundation/util/clock.js";
import type { Registry } from "../registry/index.js";
import { startTestStore, type TestStore } from "../testing/test-store.js";
import { EventRecorder } from "./event-recorder.js";

const events = resourceForKind("v1", "Event")!;

describe("EventRecorder on a real etcd", () => {
  let test: TestStore;
  let registry: Registry;
  beforeAll(async () => {
    test = await startTestStore();
    registry = test.registry;
  });
  afterAll(() => test?.stop());

  it("writes an Event about the object and folds repeats into its count", async () => {
    const clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
    const recorder = new EventRecorder({ registry, component: "test-controller", clock });
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web-1", namespace: "default", uid: "u1" },
    };
    recorder.event(pod, "Warning", "BackOff", "Back-off restarting failed container");
    clock.advance(5_000);
    recorder.event(pod, "Warning", "BackOff", "Back-off restarting failed container");
    recorder.event(pod, "Normal", "Pulled", "Container image already present");
    await recorder.flush();
    const list = await registry.list(events, { namespace: "default" });
    expect(list.items).toHaveLength(2);
    const backoff = list.items.find((e) => (e as { reason?: string }).reason === "BackOff") as Record<
      string,
      unknown
    >;
    expect(backoff).toMatchObject({
      count: 2,
      type: "Warning",
      involvedObject: { kind: "Pod", name: "web-1", uid: "u1" },
      firstTimestamp: "2026-01-01T00:00:00Z",
      lastTimestamp: "2026-01-01T00:00:05Z",
      source: { component: "test-controller" },
    });
  });
});
