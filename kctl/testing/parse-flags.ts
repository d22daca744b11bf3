/** Parses `kctl NAME ARGS...` against one command's flags, for the unit tests of shared flag sets. */

import { type FlagSpec, type Flags, parseCommandLine } from "../args.js";

export async function parseFlags(
  command: { name: string; flags: readonly FlagSpec[] },
  argv: readonly string[],
): Promise<Flags> {
  const table = new Map([[command.name, command]]);
  return (await parseCommandLine([command.name, ...argv], table, [], async (c) => c.flags)).flags;
}
