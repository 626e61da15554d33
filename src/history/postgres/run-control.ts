/**
 * What a person (or the approval clock) does to a run from outside its worker: cancel, approve, time out. Each locks the
 * run's row first, so when two replicas do it at once one acts and the other sees the state the first left.
 */

import type pg from 'pg';
import type { RunDetail, RunReason, RunState } from '../../core/run.js';
import { CANCEL_AWAITING_SQL, CANCEL_PENDING_SQL, REQUEST_CANCEL_SQL, WAKE_SQL } from './postgres-tx.js';
import { readRunDetail } from './run-detail.js';
import { first, rows } from './rows.js';
import { runTransaction } from './transactions.js';

// Running with no lease owner is exactly what claimCandidates offers as `resumed`.
const APPROVE_SQL = `UPDATE runs SET state = 'running', approved_by = $1, approved_at = $2, lease_owner = NULL, lease_expires_at = NULL
  WHERE id = $3 AND state = 'awaiting_approval'`;

/** The run's state, its row locked until the transaction ends; undefined when there is no such run. */
async function lockedState(client: pg.PoolClient, id: string): Promise<RunState | undefined> {
  return (await first<{ state: RunState }>(client, 'SELECT state FROM runs WHERE id = $1 FOR UPDATE', [id]))?.state;
}

/** Cancels: pending or awaiting_approval -> canceled at once, running -> cancel requested; the state after, or null. */
export function cancelRun(pool: pg.Pool, id: string, reason: RunReason): Promise<RunState | null> {
  return runTransaction(pool, 'cancel a run', async (client, now): Promise<RunState | null> => {
    const state = await lockedState(client, id);
    if (state === undefined) return null;
    if (state === 'pending' || state === 'awaiting_approval') {
      await client.query(state === 'pending' ? CANCEL_PENDING_SQL : CANCEL_AWAITING_SQL, [reason, now, id]);
      return 'canceled';
    }
    if (state === 'running') await client.query(REQUEST_CANCEL_SQL, [reason, id]);
    return state;
  });
}

/** awaiting_approval -> running (released, for a worker to resume) with who and when, waking the replicas; the state after, or null. */
export function approveRun(pool: pg.Pool, id: string, who: string): Promise<RunState | null> {
  return runTransaction(pool, 'approve a run', async (client, now): Promise<RunState | null> => {
    const state = await lockedState(client, id);
    if (state === undefined) return null;
    if (state !== 'awaiting_approval') return state;
    await client.query(APPROVE_SQL, [who, now, id]);
    await client.query(WAKE_SQL);
    return 'running';
  });
}

/** Ends every run whose approval wait is over as failed (approval_timeout) and returns them as they now stand; each run once fleet-wide. */
export function expireApprovals(pool: pg.Pool): Promise<RunDetail[]> {
  return runTransaction(pool, 'expire approval waits', async (client, now): Promise<RunDetail[]> => {
    const expired = await rows<{ id: string }>(
      client,
      `UPDATE runs SET state = 'failed', reason = 'approval_timeout', ended_at = $1, lease_owner = NULL, lease_expires_at = NULL
       WHERE state = 'awaiting_approval' AND approval_deadline <= $1 RETURNING id`,
      [now],
    );
    const details: RunDetail[] = [];
    for (const { id } of expired.sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const run = await readRunDetail(client, id);
      if (run !== null) details.push(run);
    }
    return details;
  });
}
