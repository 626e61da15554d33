/** Resolves a host to every address it has, the one lookup both allow-lists judge. */

import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import net from 'node:net';

/** An IP literal as itself (brackets dropped); a name as all its addresses, in resolver order; rejects when it cannot be resolved or `signal` aborts. */
export async function resolveHost(host: string, signal?: AbortSignal): Promise<LookupAddress[]> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const family = net.isIP(bare);
  if (family !== 0) return [{ address: bare, family }];
  const pending = lookup(bare, { all: true, verbatim: true });
  return signal === undefined ? pending : untilAborted(pending, signal);
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
