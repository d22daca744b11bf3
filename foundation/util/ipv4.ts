/**
 * IPv4 addresses and CIDR blocks as 32-bit numbers: parsing with errors that name the bad value,
 * and the arithmetic that allocators need (nth address, nth subnet). IPv6 is not supported yet.
 */

export class CidrError extends Error {
  constructor(value: string, why: string) {
    super(`invalid ${why.includes("CIDR") ? "" : "address "}"${value}": ${why}`);
    this.name = "CidrError";
  }
}

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function parseIPv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255)) {
    throw new CidrError(text, "want a dotted IPv4 address such as 10.0.0.1");
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

export function parseCidr(text: string): Cidr {
  const [ip, bits, extra] = text.split("/");
  if (
    ip === undefined ||
    bits === undefined ||
    extra !== undefined ||
    !/^\d{1,2}$/.test(bits) ||
    Number(bits) > 32
  ) {
    throw new CidrError(text, "want a CIDR such as 10.244.0.0/16");
  }
  const prefix = Number(bits);
  const addr = parseIPv4(ip);
  const size = 2 ** (32 - prefix);
  if (addr % size !== 0)
    throw new CidrError(
      text,
      `host bits are set in CIDR (network is ${formatIPv4(addr - (addr % size))}/${prefix})`,
    );
  return { base: addr, prefix };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIPv4(cidr.base)}/${cidr.prefix}`;
}

export function cidrSize(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

export function cidrContains(cidr: Cidr, addr: number): boolean {
  return addr >= cidr.base && addr < cidr.base + cidrSize(cidr);
}

/** The `index`-th address of the block (0 is the network address). */
export function nthAddress(cidr: Cidr, index: number): number {
  if (index < 0 || index >= cidrSize(cidr))
    throw new RangeError(`address #${index} is outside ${formatCidr(cidr)}`);
  return cidr.base + index;
}

/** The `index`-th subnet of length `prefix` inside `cidr`: 10.244.0.0/16, 24, 3 → 10.244.3.0/24. */
export function nthSubnet(cidr: Cidr, prefix: number, index: number): Cidr {
  if (prefix < cidr.prefix) throw new RangeError(`/${prefix} is larger than ${formatCidr(cidr)}`);
  const count = 2 ** (prefix - cidr.prefix);
  if (index < 0 || index >= count) throw new RangeError(`subnet #${index} is outside ${formatCidr(cidr)}`);
  return { base: cidr.base + index * 2 ** (32 - prefix), prefix };
}
