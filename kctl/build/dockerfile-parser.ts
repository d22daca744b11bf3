/**
 * The Dockerfile grammar of the reference (docs.docker.com/reference/dockerfile): parser
 * directives at the top (`# syntax=`, `# escape=`, `# check=`), comments, line continuations with
 * the escape character, `INSTRUCTION [--flag=value]... arguments`, and the JSON (exec) form of the
 * instructions that have one. It yields one {@link RawInstruction} per logical line, with the
 * number of the line it starts on; what each instruction means is `instructions.ts`'s job.
 */
import { lineError } from "./errors.js";

export interface RawInstruction {
  /** 1-based line the instruction starts on. */
  line: number;
  /** Upper-cased keyword (`RUN`). */
  keyword: string;
  /** Leading `--name=value` options; a bare `--name` has the value "true". */
  flags: Map<string, string>;
  /** The arguments after the flags, continuations joined, outer whitespace trimmed. */
  args: string;
  /** The arguments as a JSON list of strings, when they are one (exec form). */
  json?: string[];
}

export interface ParsedDockerfile {
  /** `#` directives read before the first instruction (lower-cased names). */
  directives: Map<string, string>;
  escape: "\\" | "`";
  instructions: RawInstruction[];
}

/** Instructions whose arguments may be a JSON list (exec form). */
const JSON_FORM = new Set(["RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"]);
/** Instructions that take `--flag` options before their arguments. */
const FLAGGED = new Set(["FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"]);
const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$/;
const KNOWN_DIRECTIVES = new Set(["syntax", "escape", "check"]);

/** Parses Dockerfile `text`; `file` names it in errors (`Dockerfile:3: ...`). */
export function parseDockerfile(text: string, file: string): ParsedDockerfile {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const directives = new Map<string, string>();
  let first = 0;
  // Directives end at the first line that is not one: a comment, a blank line or an instruction.
  for (; first < lines.length; first++) {
    const m = DIRECTIVE.exec(lines[first]!);
    if (!m) break;
    const name = m[1]!.toLowerCase();
    if (!KNOWN_DIRECTIVES.has(name)) break;
    if (directives.has(name)) throw lineError(file, first + 1, `parser directive "${name}" given twice`);
    directives.set(name, m[2]!);
  }
  const escapeText = directives.get("escape") ?? "\\";
  if (escapeText !== "\\" && escapeText !== "`") {
    throw lineError(file, 1, `escape directive: "${escapeText}" must be \\ or \``);
  }
  const escapeChar = escapeText;
  const instructions: RawInstruction[] = [];
  let start = 0;
  let parts: string[] = [];
  for (let i = first; i < lines.length; i++) {
    const physical = lines[i]!;
    const trimmed = physical.trim();
    // Comments and blank lines are dropped, inside a continuation too.
    if (trimmed.startsWith("#") || trimmed === "") continue;
    if (parts.length === 0) start = i + 1;
    const body = physical.replace(/[ \t]+$/, "");
    if (body.endsWith(escapeChar)) {
      parts.push(body.slice(0, -1));
      continue;
    }
    parts.push(body);
    instructions.push(instruction(parts.join(""), start, file));
    parts = [];
  }
  if (parts.length > 0) instructions.push(instruction(parts.join(""), start, file));
  return { directives, escape: escapeChar, instructions };
}

function instruction(text: string, line: number, file: string): RawInstruction {
  const m = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(text);
  if (!m) throw lineError(file, line, `expected an instruction, got "${text.trim().slice(0, 40)}"`);
  const keyword = m[1]!.toUpperCase();
  let rest = (m[2] ?? "").trim();
  if (/<<-?["']?[A-Za-z_]/.test(rest) && ["RUN", "COPY", "ADD"].includes(keyword)) {
    throw lineError(file, line, `${keyword}: here-documents (<<) are not supported`);
  }
  const flags = new Map<string, string>();
  if (FLAGGED.has(keyword)) {
    for (;;) {
      const f = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest);
      if (!f) break;
      if (flags.has(f[1]!)) throw lineError(file, line, `${keyword}: flag --${f[1]} given twice`);
      flags.set(f[1]!, f[2] ?? "true");
      rest = rest.slice(f[0].length);
    }
  }
  const raw: RawInstruction = { line, keyword, flags, args: rest };
  if (JSON_FORM.has(keyword) && rest.startsWith("[")) {
    const list = jsonList(rest);
    if (list) raw.json = list;
  }
  return raw;
}

/** The strings of a JSON list, or undefined when `text` is not one (it is then shell form). */
export function jsonList(text: string): string[] | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) && value.every((v) => typeof v === "string") ? value : undefined;
  } catch {
    return undefined;
  }
}
