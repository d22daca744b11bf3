/**
 * Index lists of Indexed Jobs as upstream writes them in status.completedIndexes and
 * status.failedIndexes and reads them in successPolicy: sorted, comma-separated, every run of two
 * or more consecutive indexes as a range: [0,1,2,3,5,7,8] → "0-3,5,7-8".
 */

/**
 * Reads an index list ("1,3-5,7") into its sorted, distinct indexes below `limit`; undefined when it
 * does not parse or an index is out of range.
 */
export function parseIndexes(text: string, limit: number): number[] | undefined {
  if (text === "") return [];
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(part);
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to >= limit) return undefined;
    for (let i = from; i <= to; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/** Writes sorted distinct `indexes` as an index list: [0,1,2,5,7,8] → "0-2,5,7-8". */
export function formatIndexes(indexes: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < indexes.length; ) {
    let j = i;
    while (j + 1 < indexes.length && indexes[j + 1] === indexes[j]! + 1) j++;
    parts.push(j === i ? String(indexes[i]) : `${indexes[i]}-${indexes[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}
