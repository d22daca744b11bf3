import { describe, expect, it } from "vitest";
import type { AttemptRef, PodHook } from "./pod-hook.js";
import { createPodHooks, HookChain } from "./pod-hooks.js";
import { fakeRun, podOf, setupOf } from "./testing/fake-pod-run.js";

/** A hook that records each stage it runs as `<name>.<stage>`, and fails where told. */
function recorder(name: string, log: string[], failIn?: string): PodHook {
  const step = (stage: string) => {
    log.push(`${name}.${stage}`);
    if (stage === failIn) throw new Error(`${name} failed in ${stage}`);
  };
  return {
    name,
    async prestart() {
      step("prestart");
    },
    async poststart() {
      step("poststart");
      return name === "b" ? { kill: "b says so" } : undefined;
    },
    async poststop() {
      step("poststop");
    },
    async postrun() {
      step("postrun");
    },
  };
}

const run = fakeRun(podOf({ containers: [{ name: "main", image: "busybox" }] }));
const setup = () => setupOf(run, { name: "main", image: "busybox" });

describe("HookChain", () => {
  it("undoes a failed prestart in reverse, the failing hook included, and rethrows", async () => {
    const log: string[] = [];
    const chain = new HookChain(
      [recorder("a", log), recorder("b", log, "prestart"), recorder("c", log)],
      run,
    );
    await expect(chain.prestart(setup())).rejects.toThrow("b failed in prestart");
    expect(log).toEqual(["a.prestart", "b.prestart", "b.poststop", "a.poststop"]);
  });

  it("tears down in reverse order, every hook even after one fails, then throws the first failure", async () => {
    const log: string[] = [];
    const chain = new HookChain([recorder("a", log), recorder("b", log, "postrun"), recorder("c", log)], run);
    await expect(chain.postrun()).rejects.toThrow("b failed in postrun");
    const ref: AttemptRef = { id: "x", name: "main", attempt: 0 };
    await chain.poststop(ref);
    expect(log).toEqual(["c.postrun", "b.postrun", "a.postrun", "c.poststop", "b.poststop", "a.poststop"]);
  });

  it("tells every hook of a start and keeps the first kill verdict", async () => {
    const log: string[] = [];
    const chain = new HookChain([recorder("a", log), recorder("b", log), recorder("c", log)], run);
    expect(await chain.poststart(setup())).toEqual({ kill: "b says so" });
    expect(log).toEqual(["a.poststart", "b.poststart", "c.poststart"]);
  });

  it("asks no more prerun hooks once one ends the pod", async () => {
    const log: string[] = [];
    const ending: PodHook = { name: "end", prerun: async () => ({ fail: { reason: "R", message: "M" } }) };
    const after: PodHook = {
      name: "after",
      prerun: async () => {
        log.push("after.prerun");
        return undefined;
      },
    };
    expect(await new HookChain([ending, after], run).prerun()).toEqual({
      fail: { reason: "R", message: "M" },
    });
    expect(log).toEqual([]);
  });
});

describe("createPodHooks", () => {
  it("assembles the hooks in the documented order, bundle last of those that prepare an attempt", () => {
    const hooks = createPodHooks();
    expect(hooks.map((h) => h.name)).toEqual([
      "deadline",
      "sandbox",
      "cgroup",
      "volumes",
      "emptydir-limit",
      "image",
      "security",
      "logs",
      "termination-message",
      "bundle",
      "probes",
      "lifecycle",
      "metrics",
    ]);
    const preparing = hooks.filter((h) => h.prestart).map((h) => h.name);
    expect(preparing.at(-1)).toBe("bundle");
  });
});
