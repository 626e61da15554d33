/** Escalations in the SQLite store: written by the guard and the worker, drained by report/, listed newest first by the API. */

import type { Alert } from '../../core/alert.js';
import { isoOrNull } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import type { Escalation, NewEscalation } from '../run-store.js';
import type { StatementCache } from './statement-cache.js';

export interface EscalationRow {
  readonly id: string;
  readonly created_at: number;
  readonly runbook: string;
  readonly run_id: string | null;
  readonly reason: string;
  readonly target: string | null;
  readonly alert_json: string;
  readonly posted_at: number | null;
  readonly attempts: number;
  readonly last_error: string | null;
}

/** Records one escalation at now, not yet posted. */
export function insertEscalation(stmts: StatementCache, escalation: NewEscalation, now: number): void {
  stmts
    .get('INSERT INTO escalations (id, created_at, runbook, run_id, reason, target, alert_json) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(newId(now), now, escalation.runbook, escalation.runId, escalation.reason, escalation.target, JSON.stringify(escalation.alert));
}

/** Escalations not yet posted: every run's before any refusal's (so a flood of refusals never delays a failed run's), then oldest first. */
export function pendingEscalations(stmts: StatementCache, limit: number): Escalation[] {
  const rows = stmts
    .get(
      `SELECT * FROM escalations INDEXED BY escalations_pending_runs_first WHERE posted_at IS NULL
       ORDER BY (run_id IS NULL), created_at, id LIMIT ?`,
    )
    .all(Math.max(0, Math.floor(limit))) as EscalationRow[];
  return rows.map(toEscalation);
}

/** Counts one attempt to post; a success stamps postedAt, and lastError is always the last attempt's error. */
export function markEscalation(stmts: StatementCache, id: string, outcome: { readonly posted: boolean; readonly error: string | null }, now: number): void {
  stmts
    .get('UPDATE escalations SET attempts = attempts + 1, posted_at = CASE WHEN ? = 1 THEN ? ELSE posted_at END, last_error = ? WHERE id = ?')
    .run(outcome.posted ? 1 : 0, now, outcome.error, id);
}

/** Maps an escalations row to the port's shape. */
export function toEscalation(row: EscalationRow): Escalation {
  return {
    id: row.id,
    createdAt: new Date(row.created_at).toISOString(),
    runbook: row.runbook,
    runId: row.run_id,
    reason: row.reason,
    target: row.target,
    alert: JSON.parse(row.alert_json) as Alert,
    postedAt: isoOrNull(row.posted_at),
    attempts: row.attempts,
    lastError: row.last_error,
  };
}
