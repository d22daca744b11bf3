/**
 * spec.successPolicy of Indexed Jobs: the Job succeeds early once any rule holds, a rule naming
 * indexes (`succeededIndexes`), a count (`succeededCount`), or both (that many of those indexes).
 */

import { parseIndexes } from "../../../foundation/api/job-indexes.js";
import type { SuccessPolicy } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import type { Outcome } from "./conditions.js";

/** The outcome of the first rule `completed` (sorted indexes) satisfies, or undefined. */
export function successPolicyOutcome(
  policy: DeepReadonly<SuccessPolicy> | undefined,
  completed: readonly number[],
): Outcome | undefined {
  const done = new Set(completed);
  for (const [i, rule] of (policy?.rules ?? []).entries()) {
    let matched: number;
    if (rule.succeededIndexes !== undefined) {
      const wanted = parseIndexes(rule.succeededIndexes, Number.MAX_SAFE_INTEGER) ?? [];
      matched = wanted.filter((x) => done.has(x)).length;
      if (rule.succeededCount === undefined && matched < wanted.length) continue;
    } else {
      matched = done.size;
    }
    if (rule.succeededCount !== undefined && matched < rule.succeededCount) continue;
    return { success: true, reason: "SuccessPolicy", message: `Matched rules at index ${i}` };
  }
  return undefined;
}
