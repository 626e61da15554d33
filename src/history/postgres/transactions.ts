/** READ COMMITTED transactions on one pooled client, rerun whole when another replica's commit got in their way. */

import type pg from 'pg';
import { RemediatorError, toError } from '../../core/errors.js';
import { isRetryable, isUnavailable, storeError } from './postgres-errors.js';

/** Attempts per transaction: contention between a handful of replicas clears in one or two. */
export const MAX_ATTEMPTS = 8;
const BACKOFF_BASE_MS = 4;
const BACKOFF_CAP_MS = 120;

/** A transaction's body: its client (every statement inside one transaction) and the database time read at its start. */
export type TransactionBody<T> = (client: pg.PoolClient, now: number) => Promise<T>;

function backoff(attempt: number): Promise<void> {
  // Full jitter: two replicas that collided once should not collide again on the same beat.
  const ms = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function connect(pool: pg.Pool, doing: string): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (err) {
    throw storeError(err, `connect to ${doing}`);
  }
}

/** COMMIT, telling apart a refused commit, a silently rolled-back one and one whose outcome nobody knows. */
async function commit(client: pg.PoolClient, doing: string): Promise<void> {
  let result: pg.QueryResult;
  try {
    result = await client.query('COMMIT');
  } catch (err) {
    if (!isUnavailable(err)) throw err;
    // The connection went while the COMMIT was in flight: it may or may not have landed.
    throw new RemediatorError('STORE_UNAVAILABLE', `PostgreSQL store lost the connection while committing (${doing}): the outcome is unknown`, { cause: err });
  }
  // An aborted transaction (a failed statement the body caught) answers COMMIT with ROLLBACK and no error.
  if (result.command === 'ROLLBACK') throw new RemediatorError('INTERNAL', `PostgreSQL rolled back a transaction (${doing}) whose body went on after a failed statement`);
}

async function attemptOnce<T>(pool: pg.Pool, doing: string, body: TransactionBody<T>): Promise<T> {
  const client = await connect(pool, doing);
  try {
    // One round trip for both: a multi-statement simple query answers with one result per statement.
    const results = (await client.query('BEGIN ISOLATION LEVEL READ COMMITTED; SELECT remediator_now_ms() AS now')) as unknown as pg.QueryResult<{ now: number }>[];
    const row = results[1]?.rows[0];
    if (row === undefined) throw new RemediatorError('INTERNAL', 'remediator_now_ms() returned no row');
    const result = await body(client, row.now);
    await commit(client, doing);
    client.release();
    return result;
  } catch (err) {
    const broken = isUnavailable(err);
    if (!broken) await client.query('ROLLBACK').catch(() => undefined);
    // A broken connection is destroyed, never handed to the next transaction.
    client.release(broken ? toError(err) : undefined);
    throw err;
  }
}

/**
 * Runs body in one transaction and commits it; on a deadlock, a lock or serialization failure, a unique race or a stale
 * row, runs it again (body must be re-runnable: it builds its result inside), up to MAX_ATTEMPTS times.
 */
export async function runTransaction<T>(pool: pg.Pool, doing: string, body: TransactionBody<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptOnce(pool, doing, body);
    } catch (err) {
      if (attempt < MAX_ATTEMPTS && isRetryable(err)) {
        await backoff(attempt);
        continue;
      }
      throw storeError(err, doing);
    }
  }
}
