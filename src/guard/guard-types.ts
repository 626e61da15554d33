/** What a guard decides for one (alert, runbook) pair at receive time. */

import type { Alert } from '../core/alert.js';
import type { Decision, DecisionKind, GuardReason } from '../core/run.js';
import type { NewDecision, StoreTx } from '../history/run-store.js';

/** What one pair counts as in remediator_decisions_total: a duplicate counts as `duplicate`, never as the run it repeats. */
export interface DecisionTally {
  readonly decision: DecisionKind;
  readonly reason: GuardReason | null;
}

/** The decisions a delivery produced and the runs it created, as the webhook answers them. */
export interface DeliveryOutcome {
  readonly runs: string[];
  /** Each pair's decision row as it now stands (a repeat answers its original row, delivery count grown). */
  readonly decisions: Decision[];
  /** What each pair decided this time, for metrics. */
  readonly tally: DecisionTally[];
  /** Runs of this replica to abort at once after commit (resolved with cancelOnResolve). */
  readonly cancelNow: { runId: string; reason: 'resolved' }[];
  /** Runs this delivery ended outside any worker (an approval wait canceled as resolved), to report after commit. */
  readonly endedNow: string[];
  /** The reasons of the escalations this delivery recorded, for metrics. */
  readonly escalations: string[];
  /** Alerts of the runs created, to look up in Prometheus after commit: its later absence then means they ended. */
  readonly sightings: Alert[];
}

/** An empty outcome for one delivery. */
export function emptyOutcome(): DeliveryOutcome {
  return { runs: [], decisions: [], tally: [], cancelNow: [], endedNow: [], escalations: [], sightings: [] };
}

/** Records a decision (a repeated refusal folds into its first row) and tallies it; true when this call wrote a new row. */
export async function recordDecision(tx: StoreTx, out: DeliveryOutcome, decision: NewDecision): Promise<boolean> {
  const recorded = await tx.insertDecision(decision);
  out.decisions.push(recorded);
  out.tally.push({ decision: decision.decision, reason: decision.reason });
  return recorded.deliveries === 1;
}
