/** What `remediator explain` tells about a payload: plain data, printed as text or as one JSON document. */

import type { AlertStatus, LabelSet } from '../core/alert.js';
import type { GuardReason } from '../core/run.js';
import type { PlannedStep, RunMode, VerifyDef } from '../core/runbook.js';

/** The placeholders a plan is rendered with, since no run exists and the config is not read. */
export const EXPLAIN_RUN_ID = 'explain';
export const EXPLAIN_RUN_URL = '<publicURL unknown>/runs/explain';

/** Receive-time guards that read the store (SPEC §6), in the order the service checks them. */
export const LIVE_AT_RECEIVE: readonly GuardReason[] = Object.freeze([
  'duplicate',
  'paused',
  'runbook_paused',
  'fleet_breaker',
  'already_running',
  'attempts_exhausted',
  'cooldown',
]);

/** Claim-time guards: they depend on other runs, the store's clock, Prometheus and Alertmanager. */
export const LIVE_AT_CLAIM: readonly GuardReason[] = Object.freeze([
  'target_busy',
  'pool_busy',
  'rate_limited',
  'stale',
  'not_firing_after_wait',
  'precheck_failed',
]);

/** A rendered step and, in words, where it would run. */
export type StepExplanation = PlannedStep & { readonly where: string };

/** A rendered tier: its approval, steps, verification and onFailure steps. */
export interface TierExplanation {
  readonly name: string;
  /** Set when the tier has `approval: required`: how long the run waits for it. */
  readonly approvalTimeout: string | null;
  readonly steps: readonly StepExplanation[];
  readonly verify: VerifyDef<string> | null;
  readonly onFailure: readonly StepExplanation[];
}

/** The safety values that apply to runs of the runbook, durations as Prometheus durations. */
export interface SafetyExplanation {
  readonly cooldown: string;
  readonly cooldownNote: string;
  readonly maxAttempts: { readonly count: number; readonly per: string };
  readonly maxConcurrentPerPool: number | null;
  readonly fleetBreaker: { readonly maxTargets: number; readonly per: string };
  readonly maxPendingAge: string;
  readonly waitFor: string;
  /** The precheck query rendered for this alert (labels escaped as PromQL strings), or null for none. */
  readonly precheck: string | null;
  readonly silence: boolean;
  readonly cancelOnResolve: boolean;
}

/** One (alert, runbook) pair as far as it can be decided without the store, Prometheus or the config. */
export interface PairExplanation {
  readonly runbook: string;
  readonly faultClass: string;
  readonly file: string;
  readonly mode: RunMode;
  /** `run` when the service would create a run (perhaps in shadow mode), else `skip`. */
  readonly decision: 'run' | 'skip';
  readonly reason: GuardReason | null;
  /** Why the decision is what it is, and what could still change it. */
  readonly note: string;
  readonly params: Readonly<Record<string, string>> | null;
  /** Set on `param_invalid`: the param at fault (null when the message names a step instead) and why. */
  readonly paramInvalid: { readonly param: string | null; readonly message: string } | null;
  readonly target: string | null;
  readonly pool: string | null;
  /** Guards that depend on live state and were not evaluated; empty when the decision is already final. */
  readonly notEvaluated: { readonly atReceive: readonly GuardReason[]; readonly atClaim: readonly GuardReason[] };
  readonly safety: SafetyExplanation;
  /** The environment every `run` and `script` step would see (RUN_ID and RUN_URL are placeholders). */
  readonly env: Readonly<Record<string, string>> | null;
  readonly tiers: readonly TierExplanation[] | null;
}

/** One alert of the payload and every runbook that matches it; none means `skip no_match`. */
export interface AlertExplanation {
  readonly alertname: string;
  readonly status: AlertStatus;
  readonly fingerprint: string;
  readonly startsAt: string;
  readonly labels: LabelSet;
  readonly annotations: LabelSet;
  /** Set only when no runbook matches. */
  readonly decision: { readonly decision: 'skip'; readonly reason: 'no_match' } | null;
  readonly runbooks: readonly PairExplanation[];
}

/** The whole explanation of one payload file. */
export interface Explanation {
  readonly payload: string;
  readonly runbooksDir: string;
  readonly runbookCount: number;
  readonly placeholders: { readonly runId: string; readonly runUrl: string; readonly note: string };
  readonly executed: 'nothing';
  readonly alerts: readonly AlertExplanation[];
}
