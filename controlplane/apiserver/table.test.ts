import { describe, expect, it } from "vitest";
import { acceptedTableVersion, includeObjectParam } from "./table.js";

describe("acceptedTableVersion", () => {
  it("finds the Table kubectl asks for among the types it accepts, and nothing otherwise", () => {
    expect(
      acceptedTableVersion(
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
      ),
    ).toBe("v1");
    expect(acceptedTableVersion("application/json; as=Table; v=v1beta1; g=meta.k8s.io")).toBe("v1beta1");
    expect(acceptedTableVersion("application/json")).toBeUndefined();
    expect(acceptedTableVersion(undefined)).toBeUndefined();
    expect(acceptedTableVersion("application/json;as=Table;v=v2;g=meta.k8s.io")).toBeUndefined();
    expect(
      acceptedTableVersion("application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"),
    ).toBeUndefined();
  });

  it("reads includeObject, Metadata unless None or Object", () => {
    expect(includeObjectParam(new URLSearchParams("includeObject=Object"))).toBe("Object");
    expect(includeObjectParam(new URLSearchParams("includeObject=None"))).toBe("None");
    expect(includeObjectParam(new URLSearchParams(""))).toBe("Metadata");
  });
});
