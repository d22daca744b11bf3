import { describe, expect, it } from "vitest";
import { objectPath, splitManifest } from "./manifest";

describe("the apply view's manifest", () => {
  it("splits documents, skipping empty ones, and names what each lacks", () => {
    const docs = splitManifest(
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n---\nkind: Pod\nmetadata: {}\n---\nkey: [unclosed\n",
    );
    expect(docs.map((d) => [d.index, d.kind, d.name, d.error])).toEqual([
      [1, "ConfigMap", "a", undefined],
      [2, "Pod", undefined, "document 2: apiVersion, metadata.name required"],
      [3, undefined, undefined, expect.stringContaining("document 3: YAML:")],
    ]);
    expect(docs[0]!.text).toContain("name: a");
    expect(docs[0]!.text).not.toContain("Pod");
  });

  it("finds the object's path from discovery", () => {
    const resources = [
      { name: "deployments", kind: "Deployment", namespaced: true },
      { name: "deployments/scale", kind: "Scale", namespaced: true },
    ];
    const [doc] = splitManifest("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n");
    expect(objectPath(doc!, resources)).toBe("/apis/apps/v1/namespaces/default/deployments/web");
    const [other] = splitManifest("apiVersion: apps/v1\nkind: Widget\nmetadata:\n  name: w\n");
    expect(() => objectPath(other!, resources)).toThrow("document 1: apps/v1 serves no kind Widget");
  });
});
