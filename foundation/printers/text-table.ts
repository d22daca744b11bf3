/**
 * Column-aligned text tables like kubectl's (left-aligned cells, three spaces between columns).
 * `TableWriter` remembers the widths of what it printed so rows that arrive later (`get -w`) line up
 * with the header.
 */

export class TableWriter {
  private widths: number[] = [];

  /** `gap`: spaces between columns; kubectl's `get` uses 3, `describe` 2. */
  constructor(
    private readonly write: (text: string) => void,
    private readonly gap = 3,
  ) {}

  /** Prints `rows` (the first is usually the header), widening columns as needed. */
  print(rows: readonly (readonly string[])[]): void {
    for (const row of rows) {
      row.forEach((cell, i) => {
        this.widths[i] = Math.max(this.widths[i] ?? 0, cell.length);
      });
    }
    for (const row of rows) this.write(`${this.format(row)}\n`);
  }

  private format(row: readonly string[]): string {
    return row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((this.widths[i] ?? 0) + this.gap)))
      .join("");
  }
}

/** A whole table as one string. */
export function formatTable(rows: readonly (readonly string[])[], gap = 3): string {
  let out = "";
  new TableWriter((text) => {
    out += text;
  }, gap).print(rows);
  return out;
}
