/** Checks a URL's host against `http.allowHosts`, resolving a name to every address it has. */

import type { LookupAddress } from 'node:dns';
import net from 'node:net';
import { checkHost } from '../host-allow/host-allow-list.js';
import { resolveHost } from '../host-allow/resolve-host.js';
import type { AllowHosts, HostRefusal } from './allow-hosts.js';

/** The addresses to connect to, all checked (none for an IP literal); or why the host is refused. */
export type HostCheck =
  | { readonly allowed: true; readonly addresses: readonly LookupAddress[] }
  | { readonly allowed: false; readonly refusal: HostRefusal };

/** Resolves and checks a URL's host; rejects when the name cannot be resolved or `signal` aborts. */
export async function checkUrlHost(url: URL, allow: AllowHosts, signal: AbortSignal): Promise<HostCheck> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (allow.empty) return { allowed: false, refusal: { address: null, reason: `http.allowHosts is empty, so ${host} is not allowed` } };
  const literal = net.isIP(host) !== 0;
  const addresses = literal ? [] : await resolveHost(host, signal);
  const refusal = checkHost(
    allow,
    host,
    addresses.map((a) => a.address),
  );
  return refusal === null ? { allowed: true, addresses } : { allowed: false, refusal };
}
