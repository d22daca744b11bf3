/**
 * The chaos soak in CI: three minutes of faults with a fixed seed on a lab of three control planes
 * and four workers (`e2e/soak/soak.ts`; `npm run soak` runs it longer by hand). Its invariants must
 * hold: no acknowledged write lost, no Service request failed with no fault in its path. The
 * report (requests per fault kind, recovery times, API gaps) is printed and left in
 * `.bench/soak.json`; a failure names the seed and the folder the lab's logs were kept in.
 */
import { describe, expect, it } from "vitest";
import { runSoak, summary } from "./soak/soak.js";
import { isRoot } from "./support/lab-cluster.js";

const seed = 1234;

describe.skipIf(!isRoot)("the chaos soak", () => {
  it(`keeps every acknowledged write and fails no request outside a fault (3 min, seed ${seed})`, async () => {
    const { report, violations, logs } = await runSoak({ minutes: 3, seed });
    console.log(`soak (seed ${seed}): ${summary(report)}`);
    expect(violations, `seed ${seed}; lab logs kept in ${logs}`).toEqual([]);
  }, 1_200_000);
});
