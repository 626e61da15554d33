/** What a person (or the approval clock) does to a run from outside its worker: cancel, approve, time out. */

import type Database from 'better-sqlite3';
import type { RunDetail, RunReason, RunState } from '../../core/run.js';
import { readRunDetail } from './run-detail.js';
import { CANCEL_AWAITING_SQL, CANCEL_PENDING_SQL, REQUEST_CANCEL_SQL } from './sqlite-tx.js';
import type { StatementCache } from './statement-cache.js';

// Running with no lease owner is exactly what claimCandidates offers as `resumed`.
const APPROVE_SQL = `UPDATE runs SET state = 'running', approved_by = ?, approved_at = ?, lease_owner = NULL, lease_expires_at = NULL
  WHERE id = ? AND state = 'awaiting_approval'`;

/** Cancels: pending or awaiting_approval -> canceled at once, running -> cancel requested; the state after, or null. */
export function cancelRun(db: Database.Database, stmts: StatementCache, id: string, reason: RunReason, now: number): RunState | null {
  return db.transaction((): RunState | null => {
    const state = stmts.get('SELECT state FROM runs WHERE id = ?').pluck().get(id) as RunState | undefined;
    if (state === undefined) return null;
    if (state === 'pending') {
      stmts.get(CANCEL_PENDING_SQL).run(reason, now, id);
      return 'canceled';
    }
    if (state === 'awaiting_approval') {
      stmts.get(CANCEL_AWAITING_SQL).run(reason, now, id);
      return 'canceled';
    }
    if (state === 'running') stmts.get(REQUEST_CANCEL_SQL).run(reason, id);
    return state;
  })();
}

/** awaiting_approval -> running (released, for a worker to resume) with who and when; the state after, or null. */
export function approveRun(db: Database.Database, stmts: StatementCache, id: string, who: string, now: number): RunState | null {
  return db.transaction((): RunState | null => {
    const state = stmts.get('SELECT state FROM runs WHERE id = ?').pluck().get(id) as RunState | undefined;
    if (state === undefined) return null;
    if (state !== 'awaiting_approval') return state;
    stmts.get(APPROVE_SQL).run(who, now, id);
    return 'running';
  })();
}

/** Ends every run whose approval wait is over as failed (approval_timeout) and returns them as they now stand. */
export function expireApprovals(db: Database.Database, stmts: StatementCache, now: number): RunDetail[] {
  return db.transaction((): RunDetail[] => {
    const ids = stmts
      .get(
        `UPDATE runs INDEXED BY runs_approval_deadline SET state = 'failed', reason = 'approval_timeout', ended_at = ?,
           lease_owner = NULL, lease_expires_at = NULL
         WHERE state = 'awaiting_approval' AND approval_deadline <= ? RETURNING id`,
      )
      .pluck()
      .all(now, now) as string[];
    return ids
      .sort()
      .map((id) => readRunDetail(stmts, id))
      .filter((run): run is RunDetail => run !== null);
  })();
}
