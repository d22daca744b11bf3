import { describe, expect, it } from "vitest";
import { resources } from "../api/resources.js";
import { kindFor, kinds } from "./index.js";

describe("kinds registry", () => {
  it("declares each resource once, and finds every served resource's kind", () => {
    const names = kinds.map((k) => `${k.resource.group}/${k.resource.plural}`);
    expect(new Set(names).size).toBe(names.length);
    for (const info of resources) expect(kindFor(info)?.resource).toBe(info);
  });

  it("knows nothing of a resource no kind file declares", () => {
    expect(kindFor({ group: "example.com", kind: "Widget" })).toBeUndefined();
  });
});
