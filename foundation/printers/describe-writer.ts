/**
 * Builds `kctl describe` text the way kubectl lays it out: `Label:  value` lines whose values line
 * up within each run of consecutive labelled lines (two spaces after the longest label), nested
 * sections indented by two spaces, and small tables (conditions, events).
 */

import { formatTable } from "./text-table.js";

interface Line {
  /** Indent plus label (with its colon), or only text for a line without a value. */
  head: string;
  value?: string;
}

export class DescribeWriter {
  private readonly lines: Line[] = [];

  /** `Label:  value`; a multi-line value continues under the first, aligned. */
  field(indent: number, label: string, value: string | number | boolean | undefined): void {
    const text = value === undefined || value === "" ? "<none>" : String(value);
    const [first, ...rest] = text.split("\n");
    this.lines.push({ head: `${" ".repeat(indent)}${label}:`, value: first ?? "" });
    for (const more of rest) this.lines.push({ head: "", value: more });
  }

  /** `Label:` opening a nested section. */
  section(indent: number, label: string): void {
    this.lines.push({ head: `${" ".repeat(indent)}${label}:` });
  }

  /** A free-form line. */
  text(indent: number, text: string): void {
    this.lines.push({ head: `${" ".repeat(indent)}${text}` });
  }

  /** `key=value` pairs, one per line, or `<none>`. */
  map(indent: number, label: string, m: Record<string, string> | undefined, sep = "="): void {
    const entries = Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b));
    this.field(indent, label, entries.map(([k, v]) => `${k}${sep}${v}`).join("\n"));
  }

  /**
   * A table under `label`, rows indented, columns two spaces apart, the header underlined (by
   * `underline` when given, else dashes as long as each heading); `<none>` when empty.
   */
  table(indent: number, label: string, header: string[], rows: string[][], underline?: string[]): void {
    if (rows.length === 0) {
      this.field(indent, label, "<none>");
      return;
    }
    this.section(indent, label);
    const rule = underline ?? header.map((h) => "-".repeat(h.length));
    for (const line of formatTable([header, rule, ...rows], 2)
      .trimEnd()
      .split("\n")) {
      this.text(indent + 2, line);
    }
  }

  toString(): string {
    const out: string[] = [];
    let i = 0;
    while (i < this.lines.length) {
      if (this.lines[i]!.value === undefined) {
        out.push(this.lines[i]!.head);
        i++;
        continue;
      }
      let end = i;
      while (end < this.lines.length && this.lines[end]!.value !== undefined) end++;
      const width = Math.max(...this.lines.slice(i, end).map((l) => l.head.length)) + 2;
      for (const l of this.lines.slice(i, end)) out.push(`${l.head.padEnd(width)}${l.value}`.trimEnd());
      i = end;
    }
    return `${out.join("\n")}\n`;
  }
}

/** kubectl's describe time format, in UTC: `Mon, 02 Jan 2006 15:04:05 +0000`. */
export function describeTime(rfc3339: string | undefined): string {
  if (!rfc3339) return "<unset>";
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
