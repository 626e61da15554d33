/** `http.allowHosts`: where `http` steps may go, the shared allow-list core with an empty list meaning nowhere (see host-allow-list.ts for the rule). */

import {
  checkAddress,
  checkName,
  compileHostAllowList,
  invalidHostAllowEntries,
  type HostAllowList,
  type HostRefusal,
} from '../host-allow/host-allow-list.js';

/** A compiled `http.allowHosts` list. */
export type AllowHosts = HostAllowList;
export type { HostRefusal };

/** The entries of a list that are neither an IP, a CIDR prefix nor a host name (glob), for config validation of both allow-lists. */
export function invalidAllowHostsEntries(entries: readonly string[]): string[] {
  return invalidHostAllowEntries(entries);
}

/** Compiles an `http.allowHosts` list; throws CONFIG_INVALID naming any entry it cannot read. */
export function compileAllowHosts(entries: readonly string[]): AllowHosts {
  return compileHostAllowList(entries, 'http.allowHosts', 'nothing');
}

/** Decides an IP-literal URL host; null when allowed. */
export function checkAddressHost(allow: AllowHosts, address: string): HostRefusal | null {
  return checkAddress(allow, address);
}

/** Decides a host name from all the addresses it resolved to; null when allowed. */
export function checkResolvedName(allow: AllowHosts, name: string, addresses: readonly string[]): HostRefusal | null {
  return checkName(allow, name, addresses);
}
