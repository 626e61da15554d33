/** Escalations in the SQLite store: written by the guard and the worker, listed newest first by the API. */

import type { Alert } from '../../core/alert.js';
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
}

/** Records one escalation at now. */
export function insertEscalation(stmts: StatementCache, escalation: NewEscalation, now: number): void {
  stmts
    .get('INSERT INTO escalations (id, created_at, runbook, run_id, reason, target, alert_json) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(newId(now), now, escalation.runbook, escalation.runId, escalation.reason, escalation.target, JSON.stringify(escalation.alert));
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
  };
}
