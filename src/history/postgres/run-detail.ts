/** Builds a run in full: every planned tier and step, merged with what the worker recorded. */

import type { VerificationRecord } from '../../core/verification.js';
import type { Alert } from '../../core/alert.js';
import { isoOrNull } from '../../core/clock.js';
import type { RunDetail, StepRecord, StepState, StopCause, TierRecord, TierState } from '../../core/run.js';
import type { Plan, PlannedStep, StepKind } from '../../core/runbook.js';
import { parseJsonOrNull, toRunSummary } from '../sqlite/rows.js';
import { first, rows, type PgRunRow, type Queryable, type StepRow, type TierRow } from './rows.js';

/** Reads one run in full, or null when there is no such run; inside a transaction when db is its client. */
export async function readRunDetail(db: Queryable, id: string): Promise<RunDetail | null> {
  const row = await first<PgRunRow>(db, 'SELECT * FROM runs WHERE id = $1', [id]);
  if (row === undefined) return null;
  const tiers = await rows<TierRow>(db, 'SELECT * FROM run_tiers WHERE run_id = $1 ORDER BY tier_index', [id]);
  const steps = await rows<StepRow>(db, 'SELECT * FROM run_steps WHERE run_id = $1 ORDER BY tier_index, phase, step_index', [id]);
  const decision = await first<{ deliveries: number }>(
    db,
    `SELECT deliveries FROM decisions WHERE run_id = $1 AND decision = 'run' ORDER BY received_at, id LIMIT 1`,
    [id],
  );
  const plan = JSON.parse(row.plan_json) as Plan;
  return {
    ...toRunSummary(row),
    alert: JSON.parse(row.alert_json) as Alert,
    params: JSON.parse(row.params_json) as Record<string, string>,
    plan,
    approvedBy: row.approved_by,
    approvedAt: isoOrNull(row.approved_at),
    approvalDeadline: isoOrNull(row.approval_deadline),
    approvalTier: row.approval_tier,
    tiers: mergeTiers(plan, tiers, steps),
    deliveries: decision?.deliveries ?? 0,
    notBefore: isoOrNull(row.not_before),
    cancelRequested: row.cancel_requested,
    annotations: parseJsonOrNull(row.annotations_json),
    silenceId: row.silence_id,
    escalation: parseJsonOrNull(row.escalation_json),
  };
}

function mergeTiers(plan: Plan, tierRows: readonly TierRow[], stepRows: readonly StepRow[]): TierRecord[] {
  return plan.tiers.map((planned, tierIndex) => {
    const tier = tierRows.find((t) => t.tier_index === tierIndex);
    const ofTier = stepRows.filter((s) => s.tier_index === tierIndex);
    const find = (phase: 'steps' | 'onFailure', i: number): StepRow | undefined => ofTier.find((s) => s.phase === phase && s.step_index === i);
    const steps = planned.steps.map((p, i) => toStepRecord(p, 'steps', find('steps', i)));
    // onFailure steps show only once they ran: most tiers never need them.
    const onFailure = ofTier.filter((s) => s.phase === 'onFailure').map((s) => toStepRecord(planned.onFailure[s.step_index], 'onFailure', s));
    return {
      name: planned.name,
      state: (tier?.state ?? 'pending') as TierState,
      steps: [...steps, ...onFailure],
      // Only recordVerify writes verify_json, always a VerificationRecord.
      verify: parseJsonOrNull(tier?.verify_json ?? null) as VerificationRecord | null,
      verified: tier?.verified === true,
      startedAt: isoOrNull(tier?.started_at),
      endedAt: isoOrNull(tier?.ended_at),
    };
  });
}

function toStepRecord(planned: PlannedStep | undefined, phase: 'steps' | 'onFailure', row: StepRow | undefined): StepRecord {
  const argv = row?.argv_json != null ? (JSON.parse(row.argv_json) as string[]) : (planned?.argv ?? null);
  return {
    name: row?.name ?? planned?.name ?? '',
    kind: (row?.kind ?? planned?.kind ?? 'run') as StepKind,
    phase,
    state: (row?.state ?? 'pending') as StepState,
    argv,
    host: row?.host ?? null,
    exitCode: row?.exit_code ?? null,
    signal: row?.signal ?? null,
    timedOut: row?.timed_out === true,
    stoppedBy: (row?.stopped_by ?? null) as StopCause | null,
    stdout: row?.stdout ?? '',
    stderr: row?.stderr ?? '',
    stdoutTruncated: row?.stdout_truncated === true,
    stderrTruncated: row?.stderr_truncated === true,
    error: parseJsonOrNull(row?.error_json ?? null) as StepRecord['error'],
    evidence: parseJsonOrNull(row?.evidence_json ?? null),
    attempts: row?.attempts ?? 0,
    startedAt: isoOrNull(row?.started_at),
    endedAt: isoOrNull(row?.ended_at),
  };
}
