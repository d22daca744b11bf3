/**
 * What each Dockerfile instruction says, checked when the file is read, before any step runs:
 * argument counts, the flags each instruction takes, JSON forms. Values stay as written (variables
 * unexpanded): ARG and ENV change between lines, so the builder expands each with the variables of
 * its own line. Instructions the builder does not run (ONBUILD, heredocs, RUN --mount, ...) are
 * refused here with their line.
 */

import {
  jsonList,
  type ParsedDockerfile,
  parseDockerfile,
  type RawInstruction,
} from "./dockerfile-parser.js";
import { lineError } from "./errors.js";
import { ShellWordError, splitRaw } from "./shell-words.js";

/** A command in exec form (JSON list) or shell form (run through the stage's SHELL). */
export type CommandForm = { exec: string[] } | { shell: string };

export interface Located {
  line: number;
}

export type Instruction = Located &
  (
    | { kind: "FROM"; image: string; stage?: string; platform?: string }
    | { kind: "RUN"; command: CommandForm; network?: "host" | "none" }
    | {
        kind: "COPY" | "ADD";
        sources: string[];
        dest: string;
        from?: string;
        chown?: string;
        chmod?: string;
      }
    | { kind: "ENV" | "LABEL"; pairs: [string, string][] }
    | { kind: "ARG"; args: { name: string; value?: string }[] }
    | { kind: "WORKDIR" | "USER" | "STOPSIGNAL" | "MAINTAINER"; value: string }
    | { kind: "EXPOSE" | "VOLUME"; values: string[] }
    | { kind: "ENTRYPOINT" | "CMD"; command: CommandForm }
    | { kind: "SHELL"; shell: string[] }
    | { kind: "HEALTHCHECK"; test: string[]; options: Record<string, string> }
  );

export interface Dockerfile {
  file: string;
  escape: string;
  instructions: Instruction[];
}

const FLAGS: Record<string, readonly string[]> = {
  FROM: ["platform"],
  RUN: ["network"],
  COPY: ["from", "chown", "chmod"],
  ADD: ["chown", "chmod"],
  HEALTHCHECK: ["interval", "timeout", "start-period", "start-interval", "retries"],
};

/** Reads Dockerfile `text` (named `file` in errors) into checked instructions. */
export function readDockerfile(text: string, file: string): Dockerfile {
  const parsed: ParsedDockerfile = parseDockerfile(text, file);
  const instructions = parsed.instructions.map((raw) => {
    try {
      return instruction(raw, parsed.escape, file);
    } catch (err) {
      if (err instanceof ShellWordError) throw lineError(file, raw.line, `${raw.keyword}: ${err.message}`);
      throw err;
    }
  });
  const first = instructions.find((i) => i.kind !== "ARG");
  if (first === undefined) throw lineError(file, 1, "no FROM instruction");
  if (first.kind !== "FROM") {
    throw lineError(file, first.line, `${first.kind} before the first FROM (only ARG may come before it)`);
  }
  return { file, escape: parsed.escape, instructions };
}

function instruction(raw: RawInstruction, escapeChar: string, file: string): Instruction {
  const { line, keyword, args } = raw;
  const fail = (why: string) => lineError(file, line, `${keyword}: ${why}`);
  const allowed = FLAGS[keyword] ?? [];
  for (const flag of raw.flags.keys()) {
    if (!allowed.includes(flag)) {
      throw fail(
        allowed.length === 0
          ? `flag --${flag}: not supported`
          : `flag --${flag}: not supported (supported: ${allowed.map((f) => `--${f}`).join(", ")})`,
      );
    }
  }
  const flag = (name: string) => raw.flags.get(name);
  const command = (): CommandForm => {
    if (raw.json) return { exec: raw.json };
    if (args === "") throw fail("needs a command");
    return { shell: args };
  };
  const one = (): string => {
    if (args === "") throw fail("needs an argument");
    return args;
  };
  switch (keyword) {
    case "FROM": {
      const words = args.split(/\s+/).filter(Boolean);
      const [image, as, stage, ...extra] = words;
      if (image === undefined) throw fail("needs an image (or scratch)");
      if (as !== undefined && (as.toLowerCase() !== "as" || stage === undefined || extra.length > 0)) {
        throw fail(`expected "FROM IMAGE [AS NAME]", got "FROM ${args}"`);
      }
      if (stage !== undefined && !/^[a-z][a-z0-9_.-]*$/i.test(stage)) {
        throw fail(`stage name "${stage}" must start with a letter and hold letters, digits, '_', '.', '-'`);
      }
      const from: Instruction = { line, kind: "FROM", image };
      if (stage !== undefined) from.stage = stage.toLowerCase();
      const platform = flag("platform");
      if (platform !== undefined) from.platform = platform;
      return from;
    }
    case "RUN": {
      const run: Instruction = { line, kind: "RUN", command: command() };
      const network = flag("network");
      if (network !== undefined) {
        if (network !== "host" && network !== "none" && network !== "default") {
          throw fail(`--network=${network}: must be host, none or default`);
        }
        if (network !== "default") run.network = network;
      }
      return run;
    }
    case "COPY":
    case "ADD": {
      const items = raw.json ?? splitRaw(args, escapeChar);
      if (items.length < 2) throw fail("needs at least one source and a destination");
      const copy: Instruction = {
        line,
        kind: keyword,
        sources: items.slice(0, -1),
        dest: items.at(-1)!,
      };
      for (const name of ["from", "chown", "chmod"] as const) {
        const value = flag(name);
        if (value === "" || value === "true") throw fail(`--${name} needs a value`);
        if (value !== undefined) copy[name] = value;
      }
      if (copy.chmod !== undefined && !/^[0-7]{3,4}$/.test(copy.chmod)) {
        throw fail(
          `--chmod=${copy.chmod}: must be an octal mode such as 755 (symbolic modes are not supported)`,
        );
      }
      if (keyword === "ADD" && copy.sources.some((s) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s))) {
        throw fail(
          "sources from URLs or git are not supported; ADD takes files and tar archives of the context",
        );
      }
      return copy;
    }
    case "ENV":
    case "LABEL":
      return { line, kind: keyword, pairs: keyValues(raw, escapeChar, fail) };
    case "ARG": {
      const items = splitRaw(one(), escapeChar);
      return {
        line,
        kind: "ARG",
        args: items.map((item) => {
          const eq = item.indexOf("=");
          const name = eq < 0 ? item : item.slice(0, eq);
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw fail(`"${name}" is not a valid name`);
          return eq < 0 ? { name } : { name, value: item.slice(eq + 1) };
        }),
      };
    }
    case "WORKDIR":
    case "USER":
    case "STOPSIGNAL":
    case "MAINTAINER":
      return { line, kind: keyword, value: one() };
    case "EXPOSE":
      return { line, kind: "EXPOSE", values: splitRaw(one(), escapeChar) };
    case "VOLUME":
      return { line, kind: "VOLUME", values: raw.json ?? splitRaw(one(), escapeChar) };
    case "ENTRYPOINT":
    case "CMD":
      return { line, kind: keyword, command: command() };
    case "SHELL":
      if (!raw.json || raw.json.length === 0) throw fail('must be a JSON list, e.g. SHELL ["/bin/sh", "-c"]');
      return { line, kind: "SHELL", shell: raw.json };
    case "HEALTHCHECK": {
      const options = Object.fromEntries(raw.flags);
      if (args.toUpperCase() === "NONE") {
        if (raw.flags.size > 0) throw fail("NONE takes no options");
        return { line, kind: "HEALTHCHECK", test: ["NONE"], options };
      }
      const m = /^CMD\s+([\s\S]+)$/i.exec(args);
      if (!m) throw fail("expected NONE or CMD COMMAND");
      const rest = m[1]!.trim();
      const json = rest.startsWith("[") ? jsonList(rest) : undefined;
      return { line, kind: "HEALTHCHECK", test: json ? ["CMD", ...json] : ["CMD-SHELL", rest], options };
    }
    case "ONBUILD":
      throw fail("not supported: triggers for images built FROM this one are not recorded");
    default:
      throw fail("unknown instruction");
  }
}

/** `k=v k2="v 2"`, or the old one-pair form `k v w` (key k, value "v w"). */
function keyValues(
  raw: RawInstruction,
  escapeChar: string,
  fail: (why: string) => Error,
): [string, string][] {
  if (raw.args === "") throw fail("needs KEY=VALUE");
  const items = splitRaw(raw.args, escapeChar);
  if (!items[0]!.includes("=")) {
    if (items.length < 2) throw fail(`"${items[0]}" has no value (KEY=VALUE or KEY VALUE)`);
    const key = items[0]!;
    return [[key, raw.args.slice(raw.args.indexOf(key) + key.length).trim()]];
  }
  return items.map((item) => {
    const eq = item.indexOf("=");
    if (eq <= 0) throw fail(`"${item}" is not KEY=VALUE`);
    return [item.slice(0, eq), item.slice(eq + 1)];
  });
}
