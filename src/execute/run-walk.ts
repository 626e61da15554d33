/** Shared state and outcomes of walking one run's tiers. */

import type { Logger } from 'pino';
import type { RunDetail, RunReason, RunState, StepRecord } from '../core/run.js';
import type { PlannedTier } from '../core/runbook.js';
import type { VerifyRecord } from '../core/verification.js';
import type { RunStore } from '../history/run-store.js';
import type { StepRunDeps } from './step-runner.js';
import type { BoundaryStop, RunControl } from './run-control.js';
import type { Scrubber } from './scrub.js';
import type { TierOutcome } from '../observability/metrics.js';

/** How a walk ends: a final state to record, or leaving the run as it is (lease lost, shutdown). */
export type Ending =
  | { readonly kind: 'end'; readonly state: RunState; readonly reason: RunReason }
  | { readonly kind: 'leave'; readonly why: 'lost' | 'shutdown' | 'approval' };

/** The result of a tier's verification; `ok: false` fails the tier. */
export interface TierVerification {
  readonly verified: boolean;
  readonly ok: boolean;
  /** What the verification saw (query, checks, last result, outcome), kept with the tier. */
  readonly record?: VerifyRecord;
  /** Why it failed, for the run's reason when no tier is left (verify_timed_out, alert_not_found). */
  readonly reason?: RunReason;
}

/** Verifies a tier once its steps succeeded (the seam for PromQL and alertResolved checks). */
export type VerifyTier = (input: {
  readonly runId: string;
  readonly tierIndex: number;
  readonly tier: PlannedTier;
  readonly run: RunDetail;
  readonly signal: AbortSignal;
  /** When a verification interrupted by a crash started (epoch ms): it resumes with what is left of `within`. */
  readonly resumeFrom?: number;
}) => Promise<TierVerification>;

/** Today's verification: none, so a tier whose steps succeed is unverified but not failed. */
export const skipVerification: VerifyTier = async () => ({ verified: false, ok: true });

/** Everything a walk over one claimed run uses. */
export interface Walk extends StepRunDeps {
  readonly store: RunStore;
  readonly run: RunDetail;
  readonly runId: string;
  readonly fence: number;
  readonly control: RunControl;
  readonly scrub: Scrubber;
  readonly verifyTier: VerifyTier;
  readonly logger: Logger;
  readonly onStepEnd?: (kind: string, state: string, seconds: number) => void;
  /** Told when a tier's end is recorded: succeeded (verified or not), failed, or closed by a cancel or an interruption. */
  readonly onTierEnd?: (tierIndex: number, outcome: TierOutcome) => void;
  /** The tier started and not yet finished, so an ending can close it. */
  openTier: number | null;
  /** Why the last tier failed, for the run's reason when no tier is left. */
  lastFailure?: RunReason;
  /** Told when the run starts waiting for a person (to post RemediationAwaitingApproval). */
  readonly onAwaitingApproval?: (run: RunDetail, tierIndex: number) => Promise<void>;
  /** Whether the run's alert still fires (null: cannot tell); checked when an approved tier goes on. */
  readonly stillFiring?: (run: RunDetail) => Promise<boolean | null>;
}

/** An ending that ends the run with a state and reason. */
export function endWith(state: RunState, reason: RunReason): Ending {
  return { kind: 'end', state, reason };
}

/** What a step boundary's stop means for the run. */
export function endingOf(stop: BoundaryStop): Ending {
  switch (stop.kind) {
    case 'lost':
      return { kind: 'leave', why: 'lost' };
    case 'shutdown':
      return { kind: 'leave', why: 'shutdown' };
    case 'cancel':
      return endWith('canceled', stop.reason);
    case 'paused':
      return endWith('canceled', 'paused');
  }
}

/** The recorded steps of one phase of a tier, in step order (they start in order, so the position is the index). */
export function recordedSteps(run: RunDetail, tierIndex: number, phase: 'steps' | 'onFailure'): readonly StepRecord[] {
  return (run.tiers[tierIndex]?.steps ?? []).filter((s) => s.phase === phase);
}
