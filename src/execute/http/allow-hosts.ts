/**
 * Where `http` steps may go: the matcher for `http.allowHosts`.
 *
 * Entries are IP addresses or CIDR prefixes (IPv4 and IPv6), or host names, where `*` in a name
 * matches any run of one or more characters, dots included: `*.example.internal` matches
 * `a.example.internal` and `a.b.example.internal`, never `example.internal` itself. Names are
 * compared case-insensitively, a trailing dot ignored.
 *
 * The rule (SPEC §5, config `http.allowHosts`):
 * - an empty list allows nothing;
 * - a URL whose host is an IP literal is allowed only when an IP/CIDR entry contains it
 *   (a name entry never allows an address);
 * - a name is resolved to all its addresses and allowed only when EITHER every address lies in
 *   an IP/CIDR entry, OR the name matches a name entry AND none of its addresses is special
 *   (loopback, link-local incl. 169.254.169.254, unspecified, multicast, broadcast; see
 *   isSpecialAddress) unless an IP/CIDR entry contains that address. So a `localhost` entry
 *   alone does not reach 127.0.0.1: loopback needs an IP/CIDR entry, which makes reaching it
 *   a deliberate choice.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged as the IPv4 address they reach.
 */

import { RemediatorError } from '../../core/errors.js';
import { isSpecialAddress, parseIp, parsePrefix, prefixContains, type IpPrefix } from './ip-address.js';

/** A compiled `http.allowHosts` list. */
export interface AllowHosts {
  readonly empty: boolean;
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

/** The entries of a list that are neither an IP, a CIDR prefix nor a host name (glob), for config validation. */
export function invalidAllowHostsEntries(entries: readonly string[]): string[] {
  return entries.filter((entry) => parsePrefix(entry) === null && !NAME_ENTRY.test(entry));
}

/** Compiles an `http.allowHosts` list; throws CONFIG_INVALID naming any entry it cannot read. */
export function compileAllowHosts(entries: readonly string[]): AllowHosts {
  const invalid = invalidAllowHostsEntries(entries);
  if (invalid.length > 0) {
    throw new RemediatorError('CONFIG_INVALID', `http.allowHosts: not an IP, CIDR or host name: ${invalid.join(', ')}`);
  }
  const prefixes: IpPrefix[] = [];
  const names: RegExp[] = [];
  for (const entry of entries) {
    const prefix = parsePrefix(entry);
    if (prefix !== null) prefixes.push(prefix);
    else names.push(globToRegExp(normaliseName(entry)));
  }
  return {
    empty: entries.length === 0,
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

/** Decides an IP-literal URL host; null when allowed. */
export function checkAddressHost(allow: AllowHosts, address: string): HostRefusal | null {
  if (allow.containsAddress(address)) return null;
  return { address, reason: `address ${address} is not in http.allowHosts` };
}

/** Decides a host name from all the addresses it resolved to; null when allowed. */
export function checkResolvedName(allow: AllowHosts, name: string, addresses: readonly string[]): HostRefusal | null {
  if (addresses.length === 0) return { address: null, reason: `${name} resolved to no address` };
  const outside = addresses.find((address) => !allow.containsAddress(address));
  if (outside === undefined) return null;
  if (!allow.matchesName(name)) {
    const reason = `${name} resolves to ${outside}, which is not in http.allowHosts, and no name entry matches ${name}`;
    return { address: outside, reason };
  }
  const special = addresses.find((address) => {
    const ip = parseIp(address);
    return ip === null || (isSpecialAddress(ip) && !allow.containsAddress(address));
  });
  if (special === undefined) return null;
  return {
    address: special,
    reason: `${name} resolves to ${special}, a loopback/link-local/special address that only an IP or CIDR entry can allow`,
  };
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
