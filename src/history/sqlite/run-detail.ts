/** Builds a run in full: every planned tier and step, merged with what the worker recorded. */

import type { VerificationRecord } from '../../core/verification.js';
import type { Alert } from '../../core/alert.js';
import { isoOrNull } from '../../core/clock.js';
import type { RunDetail, StepRecord, StepState, StopCause, TierRecord, TierState } from '../../core/run.js';
import type { Plan, PlannedStep, StepKind } from '../../core/runbook.js';
import { parseJsonOrNull, toRunSummary, type RunRow } from './rows.js';
import type { StatementCache } from './statement-cache.js';

interface TierRow {
  readonly tier_index: number;
  readonly state: string;
  readonly verified: number;
  readonly verify_json: string | null;
  readonly started_at: number | null;
  readonly ended_at: number | null;
}

interface StepRow {
  readonly tier_index: number;
  readonly phase: 'steps' | 'onFailure';
  readonly step_index: number;
  readonly name: string | null;
  readonly kind: string | null;
  readonly state: string;
  readonly argv_json: string | null;
  readonly host: string | null;
  readonly exit_code: number | null;
  readonly signal: string | null;
  readonly timed_out: number;
  readonly stopped_by: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdout_truncated: number;
  readonly stderr_truncated: number;
  readonly error_json: string | null;
  readonly evidence_json: string | null;
  readonly attempts: number;
  readonly started_at: number | null;
  readonly ended_at: number | null;
}

/** Reads one run in full, or null when there is no such run. */
export function readRunDetail(stmts: StatementCache, id: string): RunDetail | null {
  const row = stmts.get('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
  if (row === undefined) return null;
  const tiers = stmts.get('SELECT * FROM run_tiers WHERE run_id = ? ORDER BY tier_index').all(id) as TierRow[];
  const steps = stmts.get('SELECT * FROM run_steps WHERE run_id = ? ORDER BY tier_index, phase, step_index').all(id) as StepRow[];
  const deliveries = stmts
    .get(`SELECT deliveries FROM decisions WHERE run_id = ? AND decision = 'run' ORDER BY received_at, id LIMIT 1`)
    .pluck()
    .get(id) as number | undefined;
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
    deliveries: deliveries ?? 0,
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
    const find = (phase: 'steps' | 'onFailure', i: number): StepRow | undefined =>
      ofTier.find((s) => s.phase === phase && s.step_index === i);
    const steps = planned.steps.map((p, i) => toStepRecord(p, 'steps', find('steps', i)));
    // onFailure steps show only once they ran: most tiers never need them.
    const onFailure = ofTier
      .filter((s) => s.phase === 'onFailure')
      .map((s) => toStepRecord(planned.onFailure[s.step_index], 'onFailure', s));
    return {
      name: planned.name,
      state: (tier?.state ?? 'pending') as TierState,
      steps: [...steps, ...onFailure],
      // Only recordVerify writes verify_json, always a VerificationRecord.
      verify: parseJsonOrNull(tier?.verify_json ?? null) as VerificationRecord | null,
      verified: tier?.verified === 1,
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
    timedOut: row?.timed_out === 1,
    stoppedBy: (row?.stopped_by ?? null) as StopCause | null,
    stdout: row?.stdout ?? '',
    stderr: row?.stderr ?? '',
    stdoutTruncated: row?.stdout_truncated === 1,
    stderrTruncated: row?.stderr_truncated === 1,
    error: parseJsonOrNull(row?.error_json ?? null) as StepRecord['error'],
    evidence: parseJsonOrNull(row?.evidence_json ?? null),
    attempts: row?.attempts ?? 0,
    startedAt: isoOrNull(row?.started_at),
    endedAt: isoOrNull(row?.ended_at),
  };
}
