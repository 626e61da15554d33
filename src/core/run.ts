/** Runs, decisions and step results: the records the store keeps and the API shows. */

import type { VerificationRecord } from './verification.js';
import type { Alert } from './alert.js';
import type { Plan, RunMode, StepKind } from './runbook.js';

export const RUN_STATES = [
  'pending',
  'running',
  'awaiting_approval',
  'succeeded',
  'failed',
  'canceled',
  'interrupted',
  'shadow',
  'skipped',
] as const;
export type RunState = (typeof RUN_STATES)[number];

/** States in which a run still holds its target. */
export const ACTIVE_STATES: readonly RunState[] = ['pending', 'running', 'awaiting_approval'];
export const FINAL_STATES: readonly RunState[] = ['succeeded', 'failed', 'canceled', 'interrupted', 'shadow', 'skipped'];

/** The closed list of guard reasons (SPEC §6). */
export const GUARD_REASONS = [
  'duplicate',
  'no_match',
  'resolved',
  'paused',
  'runbook_paused',
  'param_invalid',
  'attempts_exhausted',
  'fleet_breaker',
  'already_running',
  'cooldown',
  'target_busy',
  'pool_busy',
  'rate_limited',
  'stale',
  'not_firing_after_wait',
  'precheck_failed',
  'shadow',
] as const;
export type GuardReason = (typeof GUARD_REASONS)[number];

/** Why a run ended (or is waiting): a guard reason or an execution outcome. */
export type RunReason =
  | GuardReason
  | 'steps_failed'
  | 'canceled'
  | 'shutdown'
  | 'interrupted'
  | 'verified'
  | 'unverified'
  | 'lease_lost'
  | 'approval_timeout'
  | 'alert_not_found'
  | 'verify_timed_out'
  | 'still_firing';

export type StepState = 'pending' | 'running' | 'succeeded' | 'failed' | 'canceled' | 'interrupted' | 'skipped';
export type TierState = 'pending' | 'running' | 'succeeded' | 'failed' | 'canceled' | 'interrupted';

/** Why a command stopped before it finished on its own. */
export type StopCause = 'timeout' | 'canceled' | 'shutdown' | 'paused' | 'resolved';

/** One result shape for every kind of step, success or failure. */
export interface StepResult {
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  /** Set when the step was stopped from outside (cancel, shutdown, kill switch) or by its timeout. */
  readonly stoppedBy: StopCause | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  readonly startedAt: number;
  readonly endedAt: number;
  /** Set when the step could not run at all (spawn failure, host key refused, address not allowed, ...). */
  readonly error: { readonly code: string; readonly message: string } | null;
  /** What a capture step collected (parsed GPUs and processes), or an http/promql step's parsed answer. */
  readonly evidence?: unknown;
  /** The host an ssh step ran on, or the URL an http step called (as finally requested). */
  readonly host?: string | null;
}

export type DecisionKind = 'run' | 'skip';

/** One (alert, runbook-or-none) decision, as `GET /api/v1/decisions` shows it. */
export interface Decision {
  readonly id: string;
  readonly receivedAt: string;
  readonly fingerprint: string;
  readonly startsAt: string;
  readonly alertname: string;
  readonly status: 'firing' | 'resolved';
  readonly runbook: string | null;
  readonly decision: DecisionKind;
  readonly reason: GuardReason | null;
  readonly runId: string | null;
  readonly deliveries: number;
}

/** A run as `GET /api/v1/runs` lists it. */
export interface RunSummary {
  readonly id: string;
  readonly state: RunState;
  readonly reason: RunReason | null;
  readonly runbook: string;
  readonly runbookHash: string;
  readonly faultClass: string;
  readonly target: string;
  readonly pool: string | null;
  readonly mode: RunMode;
  readonly alertname: string;
  readonly fingerprint: string;
  readonly startsAt: string;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
}

export interface StepRecord {
  readonly name: string;
  readonly kind: StepKind;
  readonly phase: 'steps' | 'onFailure';
  readonly state: StepState;
  readonly argv: readonly string[] | null;
  readonly host: string | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly stoppedBy: StopCause | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly evidence: unknown;
  readonly attempts: number;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
}

export interface TierRecord {
  readonly name: string;
  readonly state: TierState;
  readonly steps: readonly StepRecord[];
  readonly verify: VerificationRecord | null;
  readonly verified: boolean;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
}

/** A run in full (SPEC §8), as `GET /api/v1/runs/{id}` shows it. */
export interface RunDetail extends RunSummary {
  readonly alert: Alert;
  readonly params: Readonly<Record<string, string>>;
  readonly plan: Plan;
  readonly approvedBy: string | null;
  /** While awaiting approval: when the wait times out; and the tier that waits. */
  readonly approvalDeadline?: string | null;
  readonly approvalTier?: number | null;
  readonly approvedAt: string | null;
  readonly tiers: readonly TierRecord[];
  readonly deliveries: number;
  readonly notBefore: string | null;
  readonly cancelRequested: string | null;
  readonly annotations: unknown;
  readonly silenceId: string | null;
  readonly escalation: unknown;
}
