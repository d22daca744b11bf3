/**
 * Builds the `nft -f` scripts that move the kernel table from one state to another in a single
 * atomic transaction: a full rebuild (create, delete and recreate the table, so it also works when
 * the table is missing or in any state), or a partial update that touches only the chains, sets
 * and map elements of the service ports that changed. The order inside a script is what nft needs
 * to accept it: everything referenced exists before it is referenced, and nothing is deleted while
 * a rule or element still points at it.
 */
import type { MapElement, RenderedPort } from "./ruleset.js";

/** Deletes and recreates `table` with the base lines and every port. */
export function fullTransaction(
  table: string,
  base: readonly string[],
  ports: Iterable<RenderedPort>,
): string {
  const t = `ip ${table}`;
  const lines = [`add table ${t}`, `delete table ${t}`, `add table ${t}`, ...base];
  const all = [...ports];
  for (const r of all) for (const [name, decl] of r.sets) lines.push(`add set ${t} ${name} ${decl}`);
  for (const r of all) for (const name of r.chains.keys()) lines.push(`add chain ${t} ${name}`);
  for (const r of all) {
    for (const [name, rules] of r.chains)
      for (const rule of rules) lines.push(`add rule ${t} ${name} ${rule}`);
  }
  for (const r of all) for (const e of r.elements) lines.push(addElement(t, e));
  return `${lines.join("\n")}\n`;
}

/** Removes the table if it exists (an `add` first makes the delete valid either way). */
export function uninstallTransaction(table: string): string {
  return `add table ip ${table}\ndelete table ip ${table}\n`;
}

/**
 * The script turning the ports in `before` into those in `after` (the old and new rendering of the
 * Services that changed, nothing else); empty when they are the same.
 */
export function partialTransaction(
  table: string,
  before: Iterable<RenderedPort>,
  after: Iterable<RenderedPort>,
): string {
  const t = `ip ${table}`;
  const old = merge(before);
  const now = merge(after);
  const lines: string[] = [];
  for (const [name, decl] of now.sets) if (!old.sets.has(name)) lines.push(`add set ${t} ${name} ${decl}`);
  const fill: [string, readonly string[]][] = [];
  for (const [name, rules] of now.chains) {
    const prev = old.chains.get(name);
    if (prev === undefined) {
      lines.push(`add chain ${t} ${name}`);
      fill.push([name, rules]);
    } else if (!sameRules(prev, rules)) {
      fill.push([name, rules]);
    }
  }
  for (const [name, rules] of fill) {
    if (old.chains.has(name)) lines.push(`flush chain ${t} ${name}`);
    for (const rule of rules) lines.push(`add rule ${t} ${name} ${rule}`);
  }
  for (const [id, e] of old.elements) {
    if (now.elements.get(id)?.value !== e.value) lines.push(`delete element ${t} ${e.map} { ${e.key} }`);
  }
  for (const [id, e] of now.elements) {
    if (old.elements.get(id)?.value !== e.value) lines.push(addElement(t, e));
  }
  const gone = [...old.chains.keys()].filter((name) => !now.chains.has(name));
  // Flush all before deleting any: a chain may only be deleted once nothing jumps to it.
  for (const name of gone) lines.push(`flush chain ${t} ${name}`);
  for (const name of gone) lines.push(`delete chain ${t} ${name}`);
  for (const name of old.sets.keys()) if (!now.sets.has(name)) lines.push(`delete set ${t} ${name}`);
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

function addElement(t: string, e: MapElement): string {
  return `add element ${t} ${e.map} { ${e.key} : ${e.value} }`;
}

function sameRules(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((rule, i) => rule === b[i]);
}

interface Merged {
  chains: Map<string, readonly string[]>;
  sets: Map<string, string>;
  /** `map|key` → element. */
  elements: Map<string, MapElement>;
}

function merge(ports: Iterable<RenderedPort>): Merged {
  const m: Merged = { chains: new Map(), sets: new Map(), elements: new Map() };
  for (const r of ports) {
    for (const [name, rules] of r.chains) m.chains.set(name, rules);
    for (const [name, decl] of r.sets) m.sets.set(name, decl);
    for (const e of r.elements) m.elements.set(`${e.map}|${e.key}`, e);
  }
  return m;
}
