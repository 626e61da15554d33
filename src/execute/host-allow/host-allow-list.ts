/**
 * The allow-list core that `ssh.allowHosts` and `http.allowHosts` share.
 *
 * Entries are IP addresses or CIDR prefixes (IPv4 and IPv6), or host-name globs, where `*`
 * matches any run of one or more characters, dots included: `*.example.internal` matches
 * `a.example.internal` and `a.b.example.internal`, never `example.internal` itself. Names are
 * compared case-insensitively, a trailing dot ignored. A glob never matches an address, and an
 * entry that looks like an address pattern (`10.*`) is refused: write it as a CIDR.
 *
 * The rule, for a host and every address it resolves to:
 * - an IP-literal host is allowed when an IP/CIDR entry contains it;
 * - a name is allowed when every address lies in an IP/CIDR entry, or when a name entry matches it
 *   and none of its addresses is special (see specialAddressKind) unless an IP/CIDR entry contains
 *   that address;
 * - an empty list allows nothing (`whenEmpty: 'nothing'`, http), or every host whose addresses are
 *   all ordinary (`whenEmpty: 'ordinary'`, ssh, where knownHostsFile is the real gate): as if the
 *   list were a `*` entry that also matched addresses.
 * So loopback, link-local, cloud metadata, unspecified and multicast addresses are only ever
 * reached through an IP/CIDR entry that names them. IPv4-mapped IPv6 addresses are judged as the
 * IPv4 address they reach.
 */

import { RemediatorError } from '../../core/errors.js';
import { parseIp, parsePrefix, prefixContains, specialAddressKind, type IpPrefix } from './ip-address.js';

/** What an empty list means. */
export type WhenEmpty = 'nothing' | 'ordinary';

/** A compiled allow-list. */
export interface HostAllowList {
  /** The config key, for messages (`ssh.allowHosts`, `http.allowHosts`). */
  readonly key: string;
  readonly empty: boolean;
  readonly whenEmpty: WhenEmpty;
  /** True when an IP/CIDR entry contains the address (a literal, brackets allowed). */
  containsAddress(address: string): boolean;
  /** True when a name entry matches the host name. */
  matchesName(name: string): boolean;
}

/** Why a host was refused; `address` is the address that decided it (null when none did). */
export interface HostRefusal {
  readonly address: string | null;
  readonly reason: string;
}

const NAME_ENTRY = /^[a-z0-9_*-]+(\.[a-z0-9_*-]+)*\.?$/i;
/** Digits, dots and stars only (some digit): an address pattern, which a name glob must not pretend to be. */
const ADDRESS_LIKE = /^(?=.*[0-9])[0-9*.]+$/;

/** The entries that are neither an IP, a CIDR prefix nor a host-name glob, for config validation. */
export function invalidHostAllowEntries(entries: readonly string[]): string[] {
  return entries.filter((entry) => parsePrefix(entry) === null && (!NAME_ENTRY.test(entry) || ADDRESS_LIKE.test(entry)));
}

/** Compiles a list; throws CONFIG_INVALID naming any entry it cannot read. */
export function compileHostAllowList(entries: readonly string[], key: string, whenEmpty: WhenEmpty): HostAllowList {
  const invalid = invalidHostAllowEntries(entries);
  if (invalid.length > 0) throw new RemediatorError('CONFIG_INVALID', `${key}: not an IP, CIDR or host name: ${invalid.join(', ')}`);
  const prefixes: IpPrefix[] = [];
  const names: RegExp[] = [];
  for (const entry of entries) {
    const prefix = parsePrefix(entry);
    if (prefix !== null) prefixes.push(prefix);
    else names.push(globToRegExp(normaliseName(entry)));
  }
  return {
    key,
    empty: entries.length === 0,
    whenEmpty,
    containsAddress(address: string): boolean {
      const ip = parseIp(address);
      return ip !== null && prefixes.some((prefix) => prefixContains(prefix, ip));
    },
    matchesName(name: string): boolean {
      const normal = normaliseName(name);
      return names.some((re) => re.test(normal));
    },
  };
}

/** The special kind of an address no entry contains, or null when it is ordinary or contained. */
function uncoveredSpecial(list: HostAllowList, address: string): string | null {
  if (list.containsAddress(address)) return null;
  const ip = parseIp(address);
  return ip === null ? 'unparsable' : specialAddressKind(ip);
}

/** Decides an IP-literal host; null when allowed. */
export function checkAddress(list: HostAllowList, address: string): HostRefusal | null {
  if (list.containsAddress(address)) return null;
  const special = uncoveredSpecial(list, address);
  if (special !== null) return { address, reason: `address ${address} is ${article(special)} address not in ${list.key}: only an IP or CIDR entry can allow it` };
  if (list.empty && list.whenEmpty === 'ordinary') return null;
  return { address, reason: `address ${address} is not in ${list.key}` };
}

/** Decides a host name from all the addresses it resolved to; null when allowed. */
export function checkName(list: HostAllowList, name: string, addresses: readonly string[]): HostRefusal | null {
  if (addresses.length === 0) return { address: null, reason: `${name} resolved to no address` };
  const outside = addresses.find((address) => !list.containsAddress(address));
  if (outside === undefined) return null;
  const nameAllowed = list.empty ? list.whenEmpty === 'ordinary' : list.matchesName(name);
  if (!nameAllowed) {
    return { address: outside, reason: `${name} resolves to ${outside}, which is not in ${list.key}, and no name entry matches ${name}` };
  }
  for (const address of addresses) {
    const special = uncoveredSpecial(list, address);
    if (special !== null) {
      return { address, reason: `${name} resolves to ${address}, ${article(special)} address not in ${list.key}: only an IP or CIDR entry can allow it` };
    }
  }
  return null;
}

/** Decides a host, an IP literal or a name with its resolved addresses; null when allowed. */
export function checkHost(list: HostAllowList, host: string, addresses: readonly string[]): HostRefusal | null {
  return parseIp(host) !== null ? checkAddress(list, host) : checkName(list, host, addresses);
}

function article(kind: string): string {
  return `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}`;
}

function normaliseName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
    .join('.+');
  return new RegExp(`^${body}$`);
}
