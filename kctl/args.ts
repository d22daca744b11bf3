/**
 * Command-line parsing for kctl, kubectl-style: one command word, flags before or after positionals,
 * `--flag=value`, `--flag value`, `-f value`, `-fvalue`, `-f=value`, grouped short booleans (`-Aw`),
 * repeatable flags, `--` ending the flags. A command's own flags may also come before its word, as
 * in `kubectl -n demo get pods`. Every mistake is a `UsageError` naming the flag or word, so `main`
 * can print it with the usage text. A command's flags are asked for only when the parser needs them,
 * so a table whose commands load lazily imports no more of them than the command line names.
 */

import { UsageError } from "./errors.js";

export type FlagKind = "boolean" | "string" | "strings" | "int";

export interface FlagSpec {
  /** Long name without the leading `--`. */
  name: string;
  /** One-letter short name without the `-`. */
  short?: string;
  kind: FlagKind;
  /** For string flags: the only accepted values. */
  choices?: readonly string[];
  /** For string flags: the value of the bare flag (`--cascade` means `--cascade=background`); it then never takes the next word. */
  bareValue?: string;
  /** Shown in help after the flag, e.g. `--output FORMAT`. */
  placeholder?: string;
  help: string;
}

export type FlagValue = boolean | string | string[] | number;

/** Parsed flag values by long name; absent flags are missing from the map. */
export class Flags {
  constructor(private readonly values: ReadonlyMap<string, FlagValue>) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  bool(name: string): boolean {
    return this.values.get(name) === true;
  }

  string(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === "string" ? v : undefined;
  }

  strings(name: string): string[] {
    const v = this.values.get(name);
    return Array.isArray(v) ? v : [];
  }

  int(name: string): number | undefined {
    const v = this.values.get(name);
    return typeof v === "number" ? v : undefined;
  }
}

export interface ParsedCommandLine<C> {
  /** Undefined when no command word was given (e.g. `kctl` or `kctl --help`). */
  command: C | undefined;
  positionals: string[];
  flags: Flags;
}

export interface CommandShape {
  name: string;
}

/** A command's flags; may import the command's module, so it is called only for commands the parser needs. */
export type FlagsOf<C> = (command: C) => Promise<readonly FlagSpec[]>;

function flagLabel(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
}

/**
 * Parses `argv` (without `node` and the script) against the command table and the global flags.
 * Throws `UsageError` for an unknown command or flag, a missing or bad flag value.
 */
export async function parseCommandLine<C extends CommandShape>(
  argv: readonly string[],
  commands: ReadonlyMap<string, C>,
  globals: readonly FlagSpec[],
  flagsOf: FlagsOf<C>,
): Promise<ParsedCommandLine<C>> {
  let command: C | undefined;
  let commandFlags: readonly FlagSpec[] = [];
  const positionals: string[] = [];
  const values = new Map<string, FlagValue>();
  const specs = (): readonly FlagSpec[] => [...commandFlags, ...globals];
  const where = (): string => (command ? ` for "kctl ${command.name}"` : "");

  // Before the command word, a flag that is not global is looked up among the flags of the first
  // word that names a command (then of any command, in table order, stopping at the first that has
  // it), which tells whether it takes a value; it is checked against the command's own once the
  // command word is reached.
  const early: { spec: FlagSpec; raw: string }[] = [];
  const likely = argv.map((t) => commands.get(t)).find((c) => c !== undefined);
  const anyCommandFlag = async (match: (s: FlagSpec) => boolean): Promise<FlagSpec | undefined> => {
    if (command) return undefined;
    for (const c of [...(likely ? [likely] : []), ...commands.values()]) {
      const spec = (await flagsOf(c)).find(match);
      if (spec) return spec;
    }
    return undefined;
  };
  const byLong = async (name: string): Promise<FlagSpec> => {
    const spec = specs().find((s) => s.name === name) ?? (await anyCommandFlag((s) => s.name === name));
    if (!spec) throw new UsageError(`unknown flag: --${name}${where()}`);
    return spec;
  };
  const byShort = async (letter: string): Promise<FlagSpec> => {
    const spec = specs().find((s) => s.short === letter) ?? (await anyCommandFlag((s) => s.short === letter));
    if (!spec) throw new UsageError(`unknown shorthand flag: '${letter}' in -${letter}${where()}`);
    return spec;
  };
  const set = (spec: FlagSpec, raw: string): void => {
    if (!command && !globals.includes(spec)) early.push({ spec, raw });
    else values.set(spec.name, convert(spec, raw, values.get(spec.name)));
  };

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const takeValue = (spec: FlagSpec): string => {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: ${flagLabel(spec)}`);
      i++;
      return argv[i]!;
    };
    if (token === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (token.startsWith("--")) {
      const eq = token.indexOf("=");
      const spec = await byLong(eq < 0 ? token.slice(2) : token.slice(2, eq));
      if (eq >= 0) set(spec, token.slice(eq + 1));
      else set(spec, spec.kind === "boolean" ? "true" : (spec.bareValue ?? takeValue(spec)));
      continue;
    }
    if (token.startsWith("-") && token.length > 1) {
      // A group like -Aw is booleans only; the first non-boolean takes the rest (-nfoo, -n=foo) or the next word.
      for (let j = 1; j < token.length; j++) {
        const spec = await byShort(token[j]!);
        if (spec.kind === "boolean") {
          if (token[j + 1] === "=") {
            set(spec, token.slice(j + 2));
            break;
          }
          set(spec, "true");
          continue;
        }
        const rest = token.slice(j + 1);
        if (rest === "") set(spec, spec.bareValue ?? takeValue(spec));
        else set(spec, rest.startsWith("=") ? rest.slice(1) : rest);
        break;
      }
      continue;
    }
    if (!command) {
      command = commands.get(token);
      if (!command) throw new UsageError(`unknown command "${token}" for "kctl"`);
      commandFlags = await flagsOf(command);
      continue;
    }
    positionals.push(token);
  }
  if (command) applyEarlyFlags(early, command.name, commandFlags, values);
  return { command, positionals, flags: new Flags(values) };
}

/**
 * Gives the command the flags that came before its word. They come first on the command line: a
 * repeatable one keeps its values ahead of later ones, any other yields to a later value. Without a
 * command they go unused, as kubectl's do: `kctl -n demo --help` shows the command list.
 */
function applyEarlyFlags(
  early: readonly { spec: FlagSpec; raw: string }[],
  commandName: string,
  commandFlags: readonly FlagSpec[],
  values: Map<string, FlagValue>,
): void {
  const given = new Map<string, FlagValue>();
  for (const { spec, raw } of early) {
    const own = commandFlags.find((s) => s.name === spec.name);
    if (!own || own.kind !== spec.kind || own.bareValue !== spec.bareValue) {
      throw new UsageError(`unknown flag: --${spec.name} for "kctl ${commandName}"`);
    }
    given.set(own.name, convert(own, raw, given.get(own.name)));
  }
  for (const [name, value] of given) {
    const later = values.get(name);
    if (Array.isArray(value) && Array.isArray(later)) values.set(name, [...value, ...later]);
    else if (later === undefined) values.set(name, value);
  }
}

function convert(spec: FlagSpec, raw: string, previous: FlagValue | undefined): FlagValue {
  const bad = (why: string) =>
    new UsageError(`invalid argument "${raw}" for "${flagLabel(spec)}" flag: ${why}`);
  switch (spec.kind) {
    case "boolean":
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      throw bad("must be true or false");
    case "int":
      if (!/^-?\d+$/.test(raw)) throw bad("must be an integer");
      return Number.parseInt(raw, 10);
    case "strings":
      if (raw === "") throw bad("must not be empty");
      return [...(Array.isArray(previous) ? previous : []), raw];
    case "string":
      if (spec.choices && !spec.choices.includes(raw))
        throw bad(`must be one of: ${spec.choices.join(", ")}`);
      return raw;
  }
}

/** The flag lines of a help text, aligned. */
export function formatFlagHelp(specs: readonly FlagSpec[]): string {
  const labels = specs.map((s) => {
    const short = s.short ? `-${s.short}, ` : "    ";
    const value = s.kind === "boolean" ? "" : ` ${s.placeholder ?? (s.kind === "int" ? "N" : "VALUE")}`;
    return `  ${short}--${s.name}${value}`;
  });
  const width = Math.max(0, ...labels.map((l) => l.length));
  return specs.map((s, i) => `${labels[i]!.padEnd(width)}   ${s.help}`).join("\n");
}
