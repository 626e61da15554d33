/** Escalations in the PostgreSQL store: written by the guard and the worker, drained by report/ on the leader, listed by the API. */

import { newId } from '../../core/ids.js';
import type { Escalation, NewEscalation } from '../run-store.js';
import { toEscalation, type EscalationRow } from '../sqlite/escalations.js';
import { rows, type Queryable } from './rows.js';

/** Records one escalation at now (the database's clock), not yet posted. */
export async function insertEscalation(db: Queryable, escalation: NewEscalation, now: number): Promise<void> {
  await db.query(
    'INSERT INTO escalations (id, created_at, runbook, run_id, reason, target, alert_json) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [newId(now), now, escalation.runbook, escalation.runId, escalation.reason, escalation.target, JSON.stringify(escalation.alert)],
  );
}

/** Escalations not yet posted: every run's before any refusal's (so a flood of refusals never delays a failed run's), then oldest first. */
export async function pendingEscalations(db: Queryable, limit: number): Promise<Escalation[]> {
  const pending = await rows<EscalationRow>(
    db,
    'SELECT * FROM escalations WHERE posted_at IS NULL ORDER BY (run_id IS NULL), created_at, id LIMIT $1',
    [Math.max(0, Math.floor(limit))],
  );
  return pending.map(toEscalation);
}

/** Counts one attempt to post; a success stamps postedAt, and lastError is always the last attempt's error. */
export async function markEscalation(db: Queryable, id: string, outcome: { readonly posted: boolean; readonly error: string | null }): Promise<void> {
  await db.query(
    `UPDATE escalations SET attempts = attempts + 1, posted_at = CASE WHEN $1 THEN remediator_now_ms() ELSE posted_at END, last_error = $2
     WHERE id = $3`,
    [outcome.posted, outcome.error, id],
  );
}
