/** Checks a URL's host against `http.allowHosts`, resolving a name to every address it has. */

import { lookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import net from 'node:net';
import { checkAddressHost, checkResolvedName, type AllowHosts, type HostRefusal } from './allow-hosts.js';

/** The addresses to connect to, all checked; or why the host is refused. */
export type HostCheck =
  | { readonly allowed: true; readonly addresses: readonly LookupAddress[] }
  | { readonly allowed: false; readonly refusal: HostRefusal };

/** Resolves and checks a URL's host; rejects when the name cannot be resolved or `signal` aborts. */
export async function checkUrlHost(url: URL, allow: AllowHosts, signal: AbortSignal): Promise<HostCheck> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (allow.empty) return { allowed: false, refusal: { address: null, reason: `http.allowHosts is empty, so ${host} is not allowed` } };
  if (net.isIP(host) !== 0) {
    const refusal = checkAddressHost(allow, host);
    return refusal === null ? { allowed: true, addresses: [] } : { allowed: false, refusal };
  }
  const addresses = await untilAborted(lookup(host, { all: true }), signal);
  const refusal = checkResolvedName(
    allow,
    host,
    addresses.map((a) => a.address),
  );
  return refusal === null ? { allowed: true, addresses } : { allowed: false, refusal };
}

/** dns.lookup cannot be aborted, so stop waiting for it instead. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(new Error('aborted'));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
