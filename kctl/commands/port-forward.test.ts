import { describe, expect, it } from "vitest";
import { exitCodeOf } from "./exec.js";
import { parsePortPair } from "./port-forward.js";

describe("parsePortPair", () => {
  it("reads REMOTE, LOCAL:REMOTE and :REMOTE as kubectl does", () => {
    expect(parsePortPair("80")).toEqual({ local: 80, remote: 80 });
    expect(parsePortPair("8080:80")).toEqual({ local: 8080, remote: 80 });
    expect(parsePortPair(":80")).toEqual({ local: 0, remote: 80 });
    expect(parsePortPair("0:80")).toEqual({ local: 0, remote: 80 });
  });

  it("names a bad specification", () => {
    for (const bad of ["", "http", "80:", "1:0", "70000", "1:2:3", "-1:80"])
      expect(() => parsePortPair(bad)).toThrow(`invalid port specification "${bad}"`);
  });
});

describe("exitCodeOf (kctl exec)", () => {
  it("takes 0 from Success and the ExitCode cause from NonZeroExitCode; other Statuses are errors", () => {
    const base = { kind: "Status", apiVersion: "v1", metadata: {} } as const;
    expect(exitCodeOf({ ...base, status: "Success" } as never)).toBe(0);
    expect(
      exitCodeOf({
        ...base,
        status: "Failure",
        reason: "NonZeroExitCode",
        details: { causes: [{ reason: "ExitCode", message: "7" }] },
      } as never),
    ).toBe(7);
    expect(() =>
      exitCodeOf({
        ...base,
        status: "Failure",
        reason: "NotFound",
        message: 'pods "x" not found',
        code: 404,
      } as never),
    ).toThrow('pods "x" not found');
    expect(() => exitCodeOf(undefined)).toThrow(/without a status/);
  });
});
