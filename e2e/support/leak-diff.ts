/**
 * What a lab host holds (network namespaces, links, cgroups, mounts, nft objects, processes, pod
 * state), as comparable items, and the leaks between two such snapshots: every item the later one
 * holds more often than the earlier one. Items are counted, not just listed, since a mount point can
 * be stacked and a cgroup path repeats in every hierarchy. Pure, so the comparison is tested alone;
 * `leak-checker.ts` takes the snapshots.
 */

export const leakCategories = ["netns", "link", "cgroup", "mount", "nft", "process", "state"] as const;
export type LeakCategory = (typeof leakCategories)[number];

export interface SnapshotItem {
  /** What identifies the item across snapshots (a link's name and kind, a mount point, ...). */
  key: string;
  /** What helps a reader find it (a process's command line, the hierarchy of a cgroup). */
  detail?: string;
}

/** One host's items by category; `host` is a node name, or `lab` for what belongs to no host. */
export interface HostSnapshot {
  host: string;
  items: Record<LeakCategory, SnapshotItem[]>;
}

export interface Leak {
  host: string;
  category: LeakCategory;
  key: string;
  /** How many more the later snapshot holds. */
  count: number;
  details: string[];
}

export function emptyItems(): Record<LeakCategory, SnapshotItem[]> {
  return { netns: [], link: [], cgroup: [], mount: [], nft: [], process: [], state: [] };
}

function counts(items: readonly SnapshotItem[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(i.key, (m.get(i.key) ?? 0) + 1);
  return m;
}

/** Every item `after` holds more often than `before`, by host and category, in a stable order. */
export function leaksBetween(before: readonly HostSnapshot[], after: readonly HostSnapshot[]): Leak[] {
  const leaks: Leak[] = [];
  for (const host of after) {
    const earlier = before.find((h) => h.host === host.host)?.items ?? emptyItems();
    for (const category of leakCategories) {
      const had = counts(earlier[category]);
      for (const [key, n] of counts(host.items[category])) {
        const extra = n - (had.get(key) ?? 0);
        if (extra <= 0) continue;
        const details = host.items[category]
          .filter((i) => i.key === key && i.detail !== undefined)
          .map((i) => i.detail!);
        leaks.push({ host: host.host, category, key, count: extra, details });
      }
    }
  }
  return leaks.sort(
    (a, b) =>
      a.host.localeCompare(b.host) ||
      leakCategories.indexOf(a.category) - leakCategories.indexOf(b.category) ||
      a.key.localeCompare(b.key),
  );
}

/** One line per leak, for a report or an assertion message. */
export function describeLeaks(leaks: readonly Leak[]): string[] {
  return leaks.map(
    (l) =>
      `${l.host} ${l.category} ${l.key}${l.count > 1 ? ` (x${l.count})` : ""}` +
      (l.details.length ? ` [${[...new Set(l.details)].join(", ")}]` : ""),
  );
}

const volatileNftKeys = new Set(["handle", "expires", "packets", "bytes"]);

/**
 * An nft JSON value without what changes while nothing leaks: handles, counters' packets and bytes,
 * the time left of an element with a timeout. Keys are sorted so equal objects print alike.
 */
export function stableNft(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stableNft);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) {
    if (!volatileNftKeys.has(k)) out[k] = stableNft((value as Record<string, unknown>)[k]);
  }
  return out;
}

interface NftObject {
  family?: string;
  table?: string;
  name?: string;
  chain?: string;
  expr?: unknown;
  elem?: unknown[];
}

/**
 * The items of `nft -j list ruleset`: every table, chain, rule (by its table, chain and
 * expressions), set or map, and each element of a set or map on its own, so one leaked element in
 * a shared set is seen.
 */
export function nftItems(ruleset: { nftables?: Record<string, unknown>[] }): SnapshotItem[] {
  const items: SnapshotItem[] = [];
  for (const entry of ruleset.nftables ?? []) {
    const [type, value] = Object.entries(entry)[0] ?? [];
    if (!type || !value || type === "metainfo") continue;
    const obj = value as NftObject;
    const where = `${obj.family} ${type === "table" ? obj.name : obj.table}`;
    if (type === "table") items.push({ key: `table ${where}` });
    else if (type === "rule")
      items.push({ key: `rule ${where} ${obj.chain} ${JSON.stringify(stableNft(obj.expr ?? []))}` });
    else {
      items.push({ key: `${type} ${where} ${obj.name}` });
      for (const e of obj.elem ?? [])
        items.push({ key: `element ${where} ${obj.name} ${JSON.stringify(stableNft(e))}` });
    }
  }
  return items;
}
