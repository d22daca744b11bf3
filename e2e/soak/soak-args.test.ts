import { describe, expect, it } from "vitest";
import { parseArgs, SoakArgumentError } from "./soak.js";

describe("the soak's flags", () => {
  it("draws from the named fault kinds only, in a lab named after the prefix", () => {
    expect(parseArgs(["--seed", "7", "--faults", "etcd-kill,agent-kill", "--lab-prefix", "ek"])).toEqual({
      minutes: 10,
      seed: 7,
      faultKinds: ["etcd-kill", "agent-kill"],
      labPrefix: "ek",
    });
  });

  it("refuses an unknown fault kind, naming the known ones", () => {
    expect(() => parseArgs(["--faults", "etcd-kil"])).toThrow(SoakArgumentError);
    expect(() => parseArgs(["--faults", "etcd-kil"])).toThrow(/etcd-kill/);
  });

  it("refuses a prefix that leaves no room for the lab name's suffix", () => {
    expect(() => parseArgs(["--lab-prefix", "toolong1"])).toThrow(SoakArgumentError);
  });
});
