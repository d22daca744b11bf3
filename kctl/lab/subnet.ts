/**
 * Picks the /16 a new lab owns: the first 10.<k>.0.0/16 (k in 100..199) that overlaps no route or
 * address of the root namespace. Other labs are seen the same way, through the transit link and
 * gateway route each lab adds to the root namespace, so no registry of labs is needed.
 */
import { LabError } from "./errors.js";
import { FIRST_SUBNET_INDEX, LAST_SUBNET_INDEX, labAddresses } from "./lab-names.js";
import { mustRun } from "./run-command.js";

interface Range {
  first: number;
  last: number;
}

function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    value = value * 256 + Number(p);
  }
  return value;
}

/** Parses `a.b.c.d/len` or a bare address (a /32); undefined for anything else (IPv6, `default`). */
export function parseCidr(text: string): Range | undefined {
  const [addr, lenText] = text.split("/");
  const base = parseIPv4(addr ?? "");
  if (base === undefined) return undefined;
  const len = lenText === undefined ? 32 : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > 32) return undefined;
  const size = 2 ** (32 - len);
  const first = Math.floor(base / size) * size;
  return { first, last: first + size - 1 };
}

function overlaps(a: Range, b: Range): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/**
 * Returns the first subnet index whose /16 overlaps none of `inUse` (CIDRs or addresses). Default
 * routes (/0) are ignored: every lab subnet is more specific than them, which is the point.
 */
export function pickSubnetIndex(inUse: readonly string[]): number {
  const taken = inUse
    .map(parseCidr)
    .filter((r): r is Range => r !== undefined && !(r.first === 0 && r.last === 2 ** 32 - 1));
  for (let k = FIRST_SUBNET_INDEX; k <= LAST_SUBNET_INDEX; k++) {
    const candidate = parseCidr(labAddresses(k).reserved)!;
    if (!taken.some((r) => overlaps(r, candidate))) return k;
  }
  throw new LabError(
    "NoFreeSubnet",
    `no free /16 for a lab among 10.${FIRST_SUBNET_INDEX}.0.0/16..10.${LAST_SUBNET_INDEX}.0.0/16: the host's routes and addresses overlap all of them`,
  );
}

interface IpRoute {
  dst?: string;
}
interface IpAddr {
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

/** The IPv4 destinations and addresses of the root namespace, all routing tables included. */
export async function rootNamespaceCidrs(): Promise<string[]> {
  const routes = JSON.parse(await mustRun(["ip", "-j", "-4", "route", "show", "table", "all"])) as IpRoute[];
  const addrs = JSON.parse(await mustRun(["ip", "-j", "-4", "addr", "show"])) as IpAddr[];
  const cidrs = routes.map((r) => r.dst ?? "").filter((d) => d !== "" && d !== "default");
  for (const link of addrs) {
    for (const a of link.addr_info ?? []) {
      if (a.family === "inet" && a.local) cidrs.push(`${a.local}/${a.prefixlen ?? 32}`);
    }
  }
  return cidrs;
}
