/** A small pool of SSH connections, one per (user, host, port) while steps run, closed when idle. */

import type { NodeSSH } from 'node-ssh';
import type { ConnectResult, SshConnection, SshFailure } from './ssh-connect.js';

/**
 * sshd allows 10 sessions per connection by default (MaxSessions); a step holds up to two
 * (its command and a kill or reap), so a connection carries at most this many steps at once.
 */
const STEPS_PER_CONNECTION = 4;
const MAX_CONNECT_ROUNDS = 5;

interface Pooled {
  readonly ssh: NodeSSH;
  readonly connection: SshConnection;
  steps: number;
  broken: boolean;
  idleTimer: NodeJS.Timeout | undefined;
}

/** A connection borrowed for one step. */
export interface SshLease {
  readonly ssh: NodeSSH;
  readonly connection: SshConnection;
  /** True when the connection had served an earlier step (so a failure may just mean it went stale). */
  readonly reused: boolean;
  release(): void;
  /** Takes the connection out of the pool, so the next step opens a fresh one. */
  discard(): void;
}

export type Acquired = { readonly ok: true; readonly lease: SshLease } | { readonly ok: false; readonly error: SshFailure };

/** The pool of SSH connections. */
export interface SshPool {
  acquire(key: string, connect: () => Promise<ConnectResult>): Promise<Acquired>;
  close(): Promise<void>;
}

/** Builds an empty pool; idle connections are closed after idleMs. */
export function createSshPool(idleMs: number): SshPool {
  const live = new Map<string, Pooled[]>();
  const connecting = new Map<string, Promise<ConnectResult>>();
  let closed = false;

  const drop = (key: string, conn: Pooled): void => {
    conn.broken = true;
    clearTimeout(conn.idleTimer);
    const list = (live.get(key) ?? []).filter((c) => c !== conn);
    if (list.length === 0) live.delete(key);
    else live.set(key, list);
    conn.ssh.dispose();
  };

  const add = (key: string, ssh: NodeSSH, connection: SshConnection): void => {
    const conn: Pooled = { ssh, connection, steps: 0, broken: false, idleTimer: undefined };
    connection.once('close', () => drop(key, conn));
    connection.once('end', () => drop(key, conn));
    live.set(key, [...(live.get(key) ?? []), conn]);
  };

  const lease = (key: string, conn: Pooled, reused: boolean): SshLease => {
    clearTimeout(conn.idleTimer);
    conn.steps += 1;
    let done = false;
    const release = (): void => {
      if (done) return;
      done = true;
      conn.steps -= 1;
      if (conn.steps > 0 || conn.broken) return;
      if (closed) drop(key, conn);
      else conn.idleTimer = setTimeout(() => drop(key, conn), idleMs).unref();
    };
    return {
      ssh: conn.ssh,
      connection: conn.connection,
      reused,
      release,
      discard: () => {
        release();
        drop(key, conn);
      },
    };
  };

  const connectShared = (key: string, connect: () => Promise<ConnectResult>): Promise<ConnectResult> => {
    const pending = connecting.get(key);
    if (pending !== undefined) return pending;
    const started = connect()
      .then((result) => {
        if (result.ok && closed) result.ssh.dispose();
        else if (result.ok) add(key, result.ssh, result.connection);
        return result;
      })
      .finally(() => connecting.delete(key));
    connecting.set(key, started);
    return started;
  };

  const acquire = async (key: string, connect: () => Promise<ConnectResult>): Promise<Acquired> => {
    let fresh = false;
    for (let round = 0; round < MAX_CONNECT_ROUNDS; round += 1) {
      if (closed) break;
      const free = (live.get(key) ?? []).find((c) => !c.broken && c.steps < STEPS_PER_CONNECTION);
      if (free !== undefined) return { ok: true, lease: lease(key, free, !fresh) };
      const result = await connectShared(key, connect);
      if (!result.ok) return result;
      fresh = true;
    }
    return { ok: false, error: { code: 'SSH_ERROR', message: closed ? 'ssh runners are closed' : `no usable connection for ${key}` } };
  };

  const close = async (): Promise<void> => {
    closed = true;
    await Promise.allSettled([...connecting.values()]);
    for (const [key, list] of [...live]) for (const conn of list) if (conn.steps === 0) drop(key, conn);
  };

  return { acquire, close };
}
