/** Rows as SQLite returns them, and their mapping to the API's shapes. */

import { isoOrNull } from '../../core/clock.js';
import { RemediatorError } from '../../core/errors.js';
import type { Decision, DecisionKind, GuardReason, RunReason, RunState, RunSummary } from '../../core/run.js';
import type { RunMode } from '../../core/runbook.js';
import { episodeKeyString, type HeldRead } from '../run-store.js';

export interface RunRow {
  readonly id: string;
  readonly runbook: string;
  readonly runbook_hash: string;
  readonly fault_class: string;
  readonly target: string;
  readonly pool: string | null;
  readonly mode: string;
  readonly state: string;
  readonly reason: string | null;
  readonly waiting_for: string | null;
  readonly alertname: string;
  readonly fingerprint: string;
  readonly starts_at: string;
  readonly alert_json: string;
  readonly params_json: string;
  readonly plan_json: string;
  readonly created_at: number;
  readonly not_before: number;
  readonly max_pending_age_ms: number;
  readonly started_at: number | null;
  readonly ended_at: number | null;
  readonly executed: number;
  readonly lease_owner: string | null;
  readonly lease_expires_at: number | null;
  readonly fence: number;
  readonly cancel_requested: string | null;
  readonly approved_by: string | null;
  readonly approved_at: number | null;
  readonly annotations_json: string | null;
  readonly silence_id: string | null;
  readonly escalation_json: string | null;
  readonly approval_deadline: number | null;
  readonly approval_tier: number | null;
}

/** The columns a run summary needs: listing never reads the JSON blobs. */
export const SUMMARY_COLUMNS =
  'id, runbook, runbook_hash, fault_class, target, pool, mode, state, reason, waiting_for, alertname, fingerprint, starts_at, created_at, started_at, ended_at';

export type SummaryRow = Pick<
  RunRow,
  | 'id'
  | 'runbook'
  | 'runbook_hash'
  | 'fault_class'
  | 'target'
  | 'pool'
  | 'mode'
  | 'state'
  | 'reason'
  | 'waiting_for'
  | 'alertname'
  | 'fingerprint'
  | 'starts_at'
  | 'created_at'
  | 'started_at'
  | 'ended_at'
>;

/** What claimCandidates reads of a run; `waited` is already folded with not_before > created_at. */
export interface CandidateRow {
  readonly id: string;
  readonly runbook: string;
  readonly target: string;
  readonly created_at: number;
  readonly max_pending_age_ms: number;
  readonly waiting_for: string | null;
  readonly state: string;
  readonly pool: string | null;
  readonly max_concurrent_per_pool: number;
  readonly waited: number;
}

export interface DecisionRow {
  readonly id: string;
  readonly received_at: number;
  readonly fingerprint: string;
  readonly starts_at: string;
  readonly alertname: string;
  readonly status: string;
  readonly runbook: string | null;
  readonly decision: string;
  readonly reason: string | null;
  readonly run_id: string | null;
  readonly deliveries: number;
}

/** A run's public reason: while pending, what it waits for; else why it ended so. */
export function publicReason(row: Pick<RunRow, 'state' | 'reason' | 'waiting_for'>): RunReason | null {
  const reason = row.state === 'pending' ? (row.waiting_for ?? row.reason) : row.reason;
  return reason as RunReason | null;
}

/** Maps a runs row to the summary `GET /api/v1/runs` lists. */
export function toRunSummary(row: SummaryRow): RunSummary {
  return {
    id: row.id,
    state: row.state as RunState,
    reason: publicReason(row),
    runbook: row.runbook,
    runbookHash: row.runbook_hash,
    faultClass: row.fault_class,
    target: row.target,
    pool: row.pool,
    mode: row.mode as RunMode,
    alertname: row.alertname,
    fingerprint: row.fingerprint,
    startsAt: row.starts_at,
    createdAt: new Date(row.created_at).toISOString(),
    startedAt: isoOrNull(row.started_at),
    endedAt: isoOrNull(row.ended_at),
  };
}

/** Maps a decisions row to the shape `GET /api/v1/decisions` and the webhook answer use. */
export function toDecision(row: DecisionRow): Decision {
  return {
    id: row.id,
    receivedAt: new Date(row.received_at).toISOString(),
    fingerprint: row.fingerprint,
    startsAt: row.starts_at,
    alertname: row.alertname,
    status: row.status as Decision['status'],
    runbook: row.runbook,
    decision: row.decision as DecisionKind,
    reason: row.reason as GuardReason | null,
    runId: row.run_id,
    deliveries: row.deliveries,
  };
}

/** Parses a JSON column, null for SQL NULL. */
export function parseJsonOrNull(text: string | null): unknown {
  return text === null ? null : (JSON.parse(text) as unknown);
}

/**
 * A row of the holders query (DeliveryIO.readHeld) as either store returns it: SQLite's flags are 0/1, PostgreSQL's
 * booleans; the decision columns are those of the decision that created the run (id null when none did).
 */
export interface HolderRow extends Omit<DecisionRow, 'id'> {
  readonly id: string | null;
  readonly run_id_held: string;
  readonly run_state: RunState;
  readonly run_ended_at: number | null;
  readonly cancel_on_resolve: number | boolean | null;
  readonly still_firing: number | boolean;
  readonly resolved: number | boolean;
}

/** The holders of episodes by episodeKeyString, from rows of the holders query. */
export function toHolders(rows: readonly HolderRow[]): Map<string, HeldRead> {
  const holders = new Map<string, HeldRead>();
  for (const row of rows) {
    if (row.id === null) throw new RemediatorError('INTERNAL', `run ${row.run_id_held} holds an episode but no decision created it`);
    const decision = toDecision(row as DecisionRow);
    const key = episodeKeyString(decision.runbook, decision.fingerprint, decision.startsAt);
    // A run has one decision that created it; were there ever two, the first one (received_at, id) is it.
    const seen = holders.get(key)?.decision;
    if (seen !== undefined && (seen.receivedAt < decision.receivedAt || (seen.receivedAt === decision.receivedAt && seen.id < decision.id))) continue;
    holders.set(key, {
      runId: row.run_id_held,
      decisionId: decision.id,
      state: row.run_state,
      endedAt: row.run_ended_at,
      cancelOnResolve: row.cancel_on_resolve === 1 || row.cancel_on_resolve === true,
      decision,
      stillFiringEscalated: row.still_firing === 1 || row.still_firing === true,
      resolved: row.resolved === 1 || row.resolved === true,
    });
  }
  return holders;
}
