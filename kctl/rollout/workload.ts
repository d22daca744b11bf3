/**
 * Naming the one workload `kctl rollout` and `kctl scale` act on: `deployment/web`, `deploy web`,
 * `rs/web-5d9c` and the other spellings kubectl accepts, limited to the kinds the command supports.
 */

import { qualifiedKind, type ResourceInfo, resolveResourceName } from "../../foundation/api/resources.js";
import { UsageError } from "../errors.js";

export interface Workload {
  info: ResourceInfo;
  name: string;
}

/**
 * Parses `KIND/NAME` or `KIND NAME` from `args`. `kinds` are the resource kinds allowed (e.g.
 * `["Deployment"]`); anything else, a missing name or extra words is a UsageError saying so.
 */
export function parseWorkload(args: readonly string[], kinds: readonly string[], verb: string): Workload {
  const wanted = listOf(
    kinds.map((k) => k.toLowerCase()),
    "or",
  );
  const [first, second, ...extra] = args;
  if (first === undefined) throw new UsageError(`${verb}: name the ${wanted}, e.g. ${example(kinds)}`);
  let kindWord: string;
  let name: string | undefined;
  const slash = first.indexOf("/");
  if (slash >= 0) {
    kindWord = first.slice(0, slash);
    name = first.slice(slash + 1);
    if (second !== undefined) throw new UsageError(`${verb}: unexpected argument "${second}"`);
  } else {
    kindWord = first;
    name = second;
    if (extra.length > 0) throw new UsageError(`${verb}: unexpected argument "${extra[0]}"`);
  }
  if (!name || name.includes("/")) {
    throw new UsageError(
      `${verb}: expected KIND/NAME or KIND NAME, e.g. ${example(kinds)}; got "${args.join(" ")}"`,
    );
  }
  const info = resolveResourceName(kindWord);
  if (!info || !kinds.includes(info.kind)) {
    throw new UsageError(
      `${verb}: "${kindWord}" is not a ${wanted}${info ? ` (it is a ${qualifiedKind(info)})` : ""}; ${verb} works on ${listOf(
        kinds.map((k) => `${k.toLowerCase()}s`),
        "and",
      )}`,
    );
  }
  return { info, name };
}

/** "a", "a or b", "a, b or c". */
function listOf(words: readonly string[], conjunction: string): string {
  return words.length < 2
    ? words.join("")
    : `${words.slice(0, -1).join(", ")} ${conjunction} ${words.at(-1)}`;
}

function example(kinds: readonly string[]): string {
  return `${kinds[0]!.toLowerCase()}/web`;
}
