/**
 * The word processing the Dockerfile reference applies to the arguments of ADD, COPY, ENV, EXPOSE,
 * FROM, LABEL, STOPSIGNAL, USER, VOLUME and WORKDIR (BuildKit's shell lexer): single and double
 * quotes, the escapeChar character, and `$name`, `${name}`, `${name:-word}`, `${name-word}`,
 * `${name:+word}`, `${name+word}`, `${name:?message}`. A bare `$name` or `${name}` of a variable no
 * ARG or ENV defined is an error here (BuildKit expands it to nothing, which hides typos and ARGs
 * used before their definition); the `-`/`+` forms say what to do when it is unset.
 */

export class ShellWordError extends Error {
  override name = "ShellWordError";
}

export type Lookup = (name: string) => string | undefined;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** One word: quotes removed, escapes applied, variables expanded; whitespace is kept. */
export function expandWord(text: string, lookup: Lookup, escapeChar: string): string {
  return lex(text, lookup, escapeChar, false).join("");
}

/** Words split on whitespace outside quotes, each processed as {@link expandWord}; a variable's value stays in its word. */
export function expandWords(text: string, lookup: Lookup, escapeChar: string): string[] {
  return lex(text, lookup, escapeChar, true);
}

function lex(text: string, lookup: Lookup, escapeChar: string, split: boolean): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  const flush = () => {
    if (inWord) words.push(word);
    word = "";
    inWord = false;
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (split && /\s/.test(ch)) {
      flush();
      i++;
      continue;
    }
    inWord = true;
    if (ch === escapeChar) {
      // A trailing escapeChar stays as it is.
      word += i + 1 < text.length ? text[i + 1]! : ch;
      i += 2;
    } else if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new ShellWordError(`unterminated single quote in ${JSON.stringify(text)}`);
      word += text.slice(i + 1, end);
      i = end + 1;
    } else if (ch === '"') {
      i++;
      for (;;) {
        if (i >= text.length)
          throw new ShellWordError(`unterminated double quote in ${JSON.stringify(text)}`);
        const c = text[i]!;
        if (c === '"') {
          i++;
          break;
        }
        if (c === escapeChar && i + 1 < text.length && ['"', "$", escapeChar].includes(text[i + 1]!)) {
          word += text[i + 1];
          i += 2;
        } else if (c === "$") {
          const [value, next] = variable(text, i, lookup, escapeChar);
          word += value;
          i = next;
        } else {
          word += c;
          i++;
        }
      }
    } else if (ch === "$") {
      const [value, next] = variable(text, i, lookup, escapeChar);
      word += value;
      i = next;
    } else {
      word += ch;
      i++;
    }
  }
  flush();
  return words;
}

/** Expands the variable at `text[at]` (a `$`); returns its value and the index after it. */
function variable(text: string, at: number, lookup: Lookup, escapeChar: string): [string, number] {
  const rest = text.slice(at + 1);
  const bare = NAME.exec(rest);
  if (bare) return [defined(bare[0], lookup), at + 1 + bare[0].length];
  if (!rest.startsWith("{")) return ["$", at + 1];
  const close = matchingBrace(text, at + 1);
  if (close < 0) throw new ShellWordError(`missing '}' in ${JSON.stringify(text)}`);
  const inner = text.slice(at + 2, close);
  const name = NAME.exec(inner)?.[0];
  if (name === undefined) throw new ShellWordError(`bad substitution \${${inner}}`);
  const op = /^(:?[-+?])?/.exec(inner.slice(name.length))![0];
  const word = inner.slice(name.length + op.length);
  if (op === "" && word !== "") throw new ShellWordError(`bad substitution \${${inner}}`);
  const value = lookup(name);
  const next = close + 1;
  const set = op.startsWith(":") ? value !== undefined && value !== "" : value !== undefined;
  const alternative = () => expandWord(word, lookup, escapeChar);
  switch (op.replace(":", "")) {
    case "-":
      return [set ? value! : alternative(), next];
    case "+":
      return [set ? alternative() : "", next];
    case "?":
      if (!set) throw new ShellWordError(`${name}: ${word === "" ? "is not set" : alternative()}`);
      return [value!, next];
    default:
      return [defined(name, lookup), next];
  }
}

function defined(name: string, lookup: Lookup): string {
  const value = lookup(name);
  if (value === undefined) {
    throw new ShellWordError(`$${name} is not defined: no ARG or ENV before this line sets it`);
  }
  return value;
}

function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

/**
 * `text` split on whitespace outside quotes, quotes and escapes kept as written: the `key=value`
 * items of ENV, LABEL and ARG, each expanded later with the variables of its own line.
 */
export function splitRaw(text: string, escapeChar: string): string[] {
  const items: string[] = [];
  let item = "";
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === escapeChar && quote !== "'" && i + 1 < text.length) {
      item += ch + text[++i];
    } else if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      item += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      item += ch;
    } else if (/\s/.test(ch)) {
      if (item !== "") items.push(item);
      item = "";
    } else {
      item += ch;
    }
  }
  if (quote !== undefined) throw new ShellWordError(`unterminated ${quote} quote in ${JSON.stringify(text)}`);
  if (item !== "") items.push(item);
  return items;
}
