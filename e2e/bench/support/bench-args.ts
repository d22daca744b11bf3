/** Command-line values of the benchmark scripts. */

/** A flag's value as a positive integer; throws naming the flag otherwise. */
export function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${flag}: expected a positive integer, got "${text}"`);
  return n;
}
