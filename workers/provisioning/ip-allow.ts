/**
 * The admin allow-list: IPv4 and IPv6 addresses and CIDR blocks (RFC 4632 §3.1, RFC 4291 §2.3), matched against the
 * client address Cloudflare reports in `CF-Connecting-IP`. An empty list allows every address.
 */

/** An address as an unsigned integer of its family's width. */
export type IpAddress = { v: 4 | 6; n: bigint };
/** One allow-list entry: a network and its prefix length. */
export type CidrBlock = IpAddress & { prefix: number };
/** The parsed list; empty means no restriction. */
export type AllowList = readonly CidrBlock[];

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4(text: string): bigint | null {
  const m = IPV4.exec(text);
  if (!m) return null;
  let n = 0n;
  for (const part of m.slice(1)) {
    // Leading zeros are refused: some parsers read them as octal, so "010" is ambiguous.
    if (part.length > 1 && part.startsWith('0')) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    n = (n << 8n) | BigInt(octet);
  }
  return n;
}

function parseV6(text: string): bigint | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): string[] | null => {
    if (s === '') return [];
    const parts = s.split(':');
    const last = parts.at(-1) ?? '';
    // RFC 4291 §2.2 (3): the last 32 bits may be written as dotted IPv4.
    if (last.includes('.')) {
      const v4 = parseV4(last);
      if (v4 === null) return null;
      parts.splice(-1, 1, (v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16));
    }
    return parts.every((p) => /^[0-9a-fA-F]{1,4}$/.test(p)) ? parts : null;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  let n = 0n;
  for (const g of [...head, ...Array<string>(missing).fill('0'), ...tail]) n = (n << 16n) | BigInt(`0x${g}`);
  return n;
}

/** Parses an IPv4 or IPv6 address (IPv4-mapped IPv6 becomes IPv4; a zone id is dropped), or returns null. */
export function parseIp(raw: string): IpAddress | null {
  const text = raw.trim().replace(/%[\w.-]+$/, '');
  const v4 = parseV4(text);
  if (v4 !== null) return { v: 4, n: v4 };
  if (!text.includes(':')) return null;
  const v6 = parseV6(text);
  if (v6 === null) return null;
  // RFC 4291 §2.5.5.2: ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket.
  if (v6 >> 32n === 0xffffn) return { v: 4, n: v6 & 0xffffffffn };
  return { v: 6, n: v6 };
}

const width = (v: 4 | 6) => (v === 4 ? 32 : 128);

/** Parses a comma- or space-separated list of addresses and CIDR blocks; a bad entry throws naming `varName`. */
export function parseAllowList(text: string, varName: string): AllowList {
  const blocks: CidrBlock[] = [];
  for (const entry of text.split(/[\s,]+/).filter(Boolean)) {
    const [addr = '', prefixText, ...rest] = entry.split('/');
    const ip = parseIp(addr);
    const bits = ip ? width(ip.v) : 0;
    const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!ip || rest.length || !(prefix >= 0 && prefix <= bits)) throw new Error(`${varName}: "${entry}" is not an IP address or CIDR block`);
    if (ip.v === 4 && addr.includes(':') && prefixText !== undefined) {
      throw new Error(`${varName}: write "${entry}" as an IPv4 CIDR block`);
    }
    blocks.push({ ...ip, prefix });
  }
  return blocks;
}

/** True when `ip` falls inside `block` (same family, same leading `prefix` bits). */
export function inBlock(ip: IpAddress, block: CidrBlock): boolean {
  if (ip.v !== block.v) return false;
  const shift = BigInt(width(ip.v) - block.prefix);
  return ip.n >> shift === block.n >> shift;
}

/** True when the list is empty or the client address is in one of its blocks; an unknown or unparsable address is refused. */
export function isAllowed(list: AllowList, clientIp: string | undefined): boolean {
  if (list.length === 0) return true;
  const ip = clientIp ? parseIp(clientIp) : null;
  return ip !== null && list.some((block) => inBlock(ip, block));
}
