/** IP addresses as numbers, for prefix (CIDR) checks and the special-address rule that ssh and http steps share. */

import net from 'node:net';

/** An IPv4 or IPv6 address as a number; IPv4-mapped IPv6 addresses are held as their IPv4 form. */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/** An address prefix: the addresses whose first `bits` bits equal those of `base`. */
export interface IpPrefix {
  readonly base: IpAddress;
  readonly bits: number;
}

const V4_MAPPED_TAG = 0xffffn;

/** Parses an IPv4 or IPv6 literal (brackets and a `%zone` allowed); null when it is not one. */
export function parseIp(text: string): IpAddress | null {
  const bare = text.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = net.isIP(bare);
  if (family === 4) return { family: 4, value: parseV4(bare) };
  if (family !== 6) return null;
  const value = parseV6(bare);
  // ::ffff:a.b.c.d reaches the IPv4 host a.b.c.d, so it must be judged as that host.
  if (value >> 32n === V4_MAPPED_TAG) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/** Parses `address` or `address/bits`; null when it is neither. Host bits past the prefix are ignored. */
export function parsePrefix(text: string): IpPrefix | null {
  const slash = text.indexOf('/');
  const addressText = (slash === -1 ? text : text.slice(0, slash)).replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const address = parseIp(addressText);
  if (address === null) return null;
  const isV6Text = net.isIPv6(addressText);
  const width = isV6Text ? 128 : 32;
  let bits = width;
  if (slash !== -1) {
    const bitsText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bitsText)) return null;
    bits = Number(bitsText);
    if (bits > width) return null;
  }
  if (isV6Text && address.family === 4) {
    // An IPv4-mapped prefix shorter than the mapping itself covers more than IPv4 space: refuse it.
    if (bits < 96) return null;
    bits -= 96;
  }
  return { base: address, bits };
}

/** True when `address` lies inside `prefix` (never across families). */
export function prefixContains(prefix: IpPrefix, address: IpAddress): boolean {
  if (prefix.base.family !== address.family) return false;
  const width = address.family === 4 ? 32n : 128n;
  const shift = width - BigInt(prefix.bits);
  return prefix.base.value >> shift === address.value >> shift;
}

/** The kinds of special address, named in refusals. */
export type SpecialKind = 'loopback' | 'link-local' | 'cloud metadata' | 'unspecified' | 'this-network' | 'multicast' | 'broadcast';

/**
 * Addresses reached only through an explicit IP/CIDR entry. Order matters: the metadata
 * addresses come before the wider ranges that contain them, so a refusal names the sharper kind.
 */
const SPECIAL: readonly (readonly [IpPrefix, SpecialKind])[] = (
  [
    ['169.254.169.254/32', 'cloud metadata'], // AWS, GCP, Azure, OpenStack, Oracle
    ['fd00:ec2::254/128', 'cloud metadata'], // AWS over IPv6 (inside the otherwise ordinary fd00::/8)
    ['0.0.0.0/32', 'unspecified'], // connects to the local host on Linux
    ['0.0.0.0/8', 'this-network'],
    ['127.0.0.0/8', 'loopback'],
    ['169.254.0.0/16', 'link-local'],
    ['224.0.0.0/4', 'multicast'],
    ['255.255.255.255/32', 'broadcast'],
    ['::/128', 'unspecified'],
    ['::1/128', 'loopback'],
    ['fe80::/10', 'link-local'],
    ['ff00::/8', 'multicast'],
  ] as const
).map(([text, kind]) => {
  const prefix = parsePrefix(text);
  if (prefix === null) throw new Error(`bad built-in prefix ${text}`);
  return [prefix, kind] as const;
});

/** The kind of special address this is, or null for an ordinary one. */
export function specialAddressKind(address: IpAddress): SpecialKind | null {
  return SPECIAL.find(([prefix]) => prefixContains(prefix, address))?.[1] ?? null;
}

/** True for an address a name must never lead to without an explicit IP/CIDR entry. */
export function isSpecialAddress(address: IpAddress): boolean {
  return specialAddressKind(address) !== null;
}

function parseV4(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

/** Parses a literal that net.isIPv6 has accepted. */
function parseV6(text: string): bigint {
  let groups = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(groups);
  if (v4?.[1] !== undefined) {
    const n = parseV4(v4[1]);
    groups = `${groups.slice(0, -v4[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = groups.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - headParts.length - tailParts.length).fill('0');
  return [...headParts, ...fill, ...tailParts].reduce((acc, part) => (acc << 16n) | BigInt(parseInt(part, 16)), 0n);
}
