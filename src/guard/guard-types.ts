/** What a guard decides for one (alert, runbook) pair at receive time. */

import type { Decision } from '../core/run.js';

/** The decisions a delivery produced and the runs it created, as the webhook answers them. */
export interface DeliveryOutcome {
  readonly runs: string[];
  readonly decisions: Decision[];
  /** Runs of this replica to abort at once after commit (resolved with cancelOnResolve). */
  readonly cancelNow: { runId: string; reason: 'resolved' }[];
  /** The reasons of the escalations this delivery recorded, for metrics. */
  readonly escalations: string[];
}
