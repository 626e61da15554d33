/** Short helper commands on their own channel (kill, reap), beside a step's main channel. */

import type { Client, ClientChannel } from 'ssh2';
import { toError } from '../../core/errors.js';

/**
 * Opens an exec channel within boundMs; resolves to an Error instead of throwing. The bound
 * matters on a connection whose peer vanished silently: the open would wait for keepalives.
 */
export function openExec(client: Client, command: string, boundMs: number): Promise<ClientChannel | Error> {
  return new Promise((resolve) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      resolve(new Error(`no session channel within ${boundMs} ms`));
    }, boundMs);
    try {
      client.exec(command, (err, channel) => {
        clearTimeout(timer);
        if (late) channel?.close();
        else resolve(err ?? channel);
      });
    } catch (thrown) {
      // ssh2 throws synchronously when the connection is no longer writable.
      clearTimeout(timer);
      resolve(toError(thrown));
    }
  });
}

/** Runs a helper command and waits for it to finish, at most boundMs; its output is discarded. */
export async function runSideCommand(client: Client, command: string, boundMs: number): Promise<boolean> {
  const channel = await openExec(client, command, boundMs);
  if (channel instanceof Error) return false;
  channel.resume();
  channel.stderr.resume();
  channel.end();
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    new Promise<boolean>((resolve) => channel.once('close', () => resolve(true))),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), boundMs);
    }),
  ]);
  clearTimeout(timer);
  if (!finished) channel.close();
  return finished;
}
