/** `ssh.allowHosts`: which hosts SSH steps may reach, judged by the allow-list core that http steps use too. */

import { toError } from '../../core/errors.js';
import { checkHost, compileHostAllowList } from '../host-allow/host-allow-list.js';
import { resolveHost } from '../host-allow/resolve-host.js';

/** Where to connect, or why not. */
export type AllowedHost =
  | { readonly ok: true; readonly address: string }
  | { readonly ok: false; readonly code: 'SSH_HOST_NOT_ALLOWED' | 'SSH_RESOLVE_FAILED'; readonly message: string };

/**
 * Builds the check once per config; each call resolves the host and says where to connect. An
 * empty list allows any host with only ordinary addresses (knownHostsFile still decides which
 * hosts can be reached at all); loopback, link-local, metadata and other special addresses need
 * an IP or CIDR entry, as in http.allowHosts.
 */
export function createHostCheck(allowHosts: readonly string[]): (host: string) => Promise<AllowedHost> {
  const list = compileHostAllowList(allowHosts, 'ssh.allowHosts', 'ordinary');
  return async (host) => {
    let addresses: string[];
    try {
      addresses = (await resolveHost(host)).map((a) => a.address);
    } catch (thrown) {
      return { ok: false, code: 'SSH_RESOLVE_FAILED', message: `cannot resolve ${host}: ${toError(thrown).message}` };
    }
    const first = addresses[0];
    if (first === undefined) return { ok: false, code: 'SSH_RESOLVE_FAILED', message: `${host} resolves to no address` };
    // Every address is judged, and the socket goes to one of them, so a name cannot resolve elsewhere later.
    const refusal = checkHost(list, host, addresses);
    if (refusal === null) return { ok: true, address: first };
    return { ok: false, code: 'SSH_HOST_NOT_ALLOWED', message: `ssh to ${host} refused: ${refusal.reason}` };
  };
}
