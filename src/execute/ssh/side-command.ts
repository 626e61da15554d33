/** Channels on an SSH connection: the step's own, opened one layer below node-ssh, and short helper commands (kill) through node-ssh. */

import type { NodeSSH } from 'node-ssh';
import { toError } from '../../core/errors.js';
import type { SshChannel, SshConnection } from './ssh-connect.js';

/**
 * Opens a step's exec channel within boundMs; resolves to an Error instead of throwing.
 *
 * The one place that drops below node-ssh to ssh2's Client.exec (node-ssh's `connection`): its
 * execCommand keeps every byte a command prints in memory until the command ends, with no
 * cap, and its channel open has no deadline. A step's output must stay within maxOutputBytes
 * while it runs, and an open on a connection whose peer vanished silently would otherwise wait
 * for keepalives.
 */
export function openExec(connection: SshConnection, command: string, boundMs: number): Promise<SshChannel | Error> {
  return new Promise((resolve) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      resolve(new Error(`no session channel within ${boundMs} ms`));
    }, boundMs);
    try {
      connection.exec(command, (err, channel) => {
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

/** Runs a helper command through node-ssh and waits for it to finish, at most boundMs; its (short) output is discarded. */
export async function runSideCommand(ssh: NodeSSH, command: string, boundMs: number): Promise<boolean> {
  let channel: SshChannel | null = null;
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    ssh.execCommand(command, { onChannel: (c) => void (channel = c) }).then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), boundMs);
    }),
  ]);
  clearTimeout(timer);
  if (!finished) (channel as SshChannel | null)?.close();
  return finished;
}
