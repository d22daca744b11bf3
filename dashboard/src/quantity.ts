/** Kubernetes resource quantities as numbers: CPU in cores, memory in bytes. */

const suffixes: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** "250m" → 0.25, "2" → 2, "1Gi" → 1073741824; undefined for anything else. */
export function parseQuantity(text: string | undefined): number | undefined {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(text?.trim() ?? "");
  const factor = m ? suffixes[m[2]!] : undefined;
  if (!m || factor === undefined) return undefined;
  const value = Number(m[1]) * factor;
  return Number.isFinite(value) ? value : undefined;
}
