// biome-ignore-all lint/suspicious/noExplicitAny: fixtures read the applied objects
import { describe, expect, it } from "vitest";
import { ApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { fieldSetOf, recordUpdate, toFieldsV1 } from "./managed-fields.js";
import { serverSideApply } from "./server-side-apply.js";

const req = (manager: string, force = false) => ({
  manager,
  force,
  now: "2026-01-01T00:00:00Z",
  apiVersion: "v1",
});

const pod = (containers: Record<string, unknown>[], labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", labels },
  spec: { containers, tolerations: [{ key: "a" }] },
});

describe("server-side apply", () => {
  it("records the applied fields as FieldsV1, keyed list items by their keys, atomic lists as leaves", () => {
    const set = fieldSetOf(
      "Pod",
      pod([{ name: "web", image: "nginx", ports: [{ containerPort: 80 }] }], { app: "x" }),
    );
    expect(toFieldsV1(set)).toEqual({
      "f:metadata": { "f:labels": { "f:app": {} } },
      "f:spec": {
        "f:containers": {
          'k:{"name":"web"}': {
            ".": {},
            "f:name": {},
            "f:image": {},
            "f:ports": { 'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} } },
          },
        },
        "f:tolerations": {},
      },
    });
  });

  it("merges keyed lists item by item and keeps what other managers set", () => {
    const first = serverSideApply("Pod", undefined, pod([{ name: "web", image: "nginx" }]), req("a"));
    const second = serverSideApply("Pod", first, pod([{ name: "side", image: "busybox" }]), req("b"));
    expect((second as any).spec.containers.map((c: { name: string }) => c.name)).toEqual(["web", "side"]);
    expect(second.metadata.managedFields!.map((e) => e.manager)).toEqual(["a", "b"]);
  });

  it("refuses to change a value another manager owns, naming manager and field; force moves ownership", () => {
    const first = serverSideApply("Pod", undefined, pod([{ name: "web", image: "nginx" }]), req("a"));
    let err: unknown;
    try {
      serverSideApply("Pod", first, pod([{ name: "web", image: "other" }]), req("b"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(409);
    expect((err as ApiError).message).toBe(
      'Apply failed with 1 conflict: conflict with "a": .spec.containers[name="web"].image',
    );
    // The same value is shared, not a conflict.
    expect(() =>
      serverSideApply("Pod", first, pod([{ name: "web", image: "nginx" }]), req("b")),
    ).not.toThrow();
    const forced = serverSideApply("Pod", first, pod([{ name: "web", image: "other" }]), req("b", true));
    expect((forced as any).spec.containers[0].image).toBe("other");
    const a = forced.metadata.managedFields!.find((e) => e.manager === "a")!;
    expect((a.fieldsV1 as any)["f:spec"]["f:containers"]['k:{"name":"web"}']["f:image"]).toBeUndefined();
  });

  it("removes what a manager stops applying unless another manager owns it too", () => {
    const one = serverSideApply(
      "Pod",
      undefined,
      pod([{ name: "web", image: "nginx" }], { a: "1", b: "2" }),
      req("m"),
    );
    const shared = serverSideApply(
      "Pod",
      one,
      { apiVersion: "v1", kind: "Pod", metadata: { name: "p", labels: { b: "2" } } },
      req("n"),
    );
    const next = serverSideApply("Pod", shared, pod([{ name: "web", image: "nginx" }], {}), req("m"));
    expect(next.metadata.labels).toEqual({ b: "2" });
    const inputs = JSON.stringify(one);
    serverSideApply("Pod", one, pod([]), req("m"));
    expect(JSON.stringify(one)).toBe(inputs);
  });

  it("never records server-set metadata as owned", () => {
    const obj = {
      ...pod([]),
      metadata: { name: "p", uid: "u", resourceVersion: "3" },
    } as unknown as KubeObject;
    const set = fieldSetOf("Pod", obj);
    expect(
      [...set].some((p) => p.includes("uid") || p.includes("resourceVersion") || p.includes('f:name"]')),
    ).toBe(false);
  });

  it("records a non-apply write's changed fields as its manager's Update entry, taking them from others", () => {
    const created = serverSideApply("Pod", undefined, pod([{ name: "web", image: "nginx" }]), req("a"));
    const edited = structuredClone(created) as any;
    edited.spec.containers[0].image = "edited";
    const entries = recordUpdate(
      "Pod",
      created,
      edited,
      { manager: "kubectl-edit", time: "t", apiVersion: "v1" },
      created.metadata.managedFields!,
    );
    expect(entries.map((e) => `${e.manager}/${e.operation}`)).toEqual(["a/Apply", "kubectl-edit/Update"]);
    expect(entries[1]!.fieldsV1).toEqual({
      "f:spec": { "f:containers": { 'k:{"name":"web"}': { "f:image": {} } } },
    });
    expect(
      (entries[0]!.fieldsV1 as any)["f:spec"]["f:containers"]['k:{"name":"web"}']["f:image"],
    ).toBeUndefined();
    edited.metadata.managedFields = entries;
    expect(() => serverSideApply("Pod", edited, pod([{ name: "web", image: "nginx" }]), req("a"))).toThrow(
      'conflict with "kubectl-edit": .spec.containers[name="web"].image',
    );
  });

  it("keys list items by their key fields' defaults when left out, as the server stores them", () => {
    const set = fieldSetOf("Container", { name: "c", ports: [{ containerPort: 80 }] });
    expect([...set]).toContain(JSON.stringify(["f:ports", 'k:{"containerPort":80,"protocol":"TCP"}']));
  });
});
