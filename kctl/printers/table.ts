/**
 * Column-aligned text tables like kubectl's (left-aligned cells, three spaces between columns).
 * `TableWriter` remembers the widths of what it printed so rows that arrive later (`get -w`) line up
 * with the header.
 */

const gap = 3;

export class TableWriter {
  private widths: number[] = [];

  constructor(private readonly write: (text: string) => void) {}

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
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((this.widths[i] ?? 0) + gap)))
      .join("");
  }
}

/** A whole table as one string. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  let out = "";
  new TableWriter((text) => {
    out += text;
  }).print(rows);
  return out;
}
