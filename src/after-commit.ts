/** What a committed delivery sets in motion, once its decisions are safe in the store: metrics, workers, runs, sightings. */

import type { Alert } from './core/alert.js';
import type { DeliveryOutcome } from './guard/guard-types.js';
import type { Metrics } from './observability/metrics.js';

/** The effects, each a function so the webhook never reaches into execution or reporting itself. */
export interface AfterCommitDeps {
  readonly metrics: Metrics;
  /** New runs were committed: a free worker claims at once. */
  readonly wake: () => void;
  /** Stops a run this replica executes, at once (resolved with cancelOnResolve). */
  readonly abortRun: (runId: string, reason: 'resolved') => void;
  /** Reports a run the delivery ended outside any worker (an approval wait that resolved). */
  readonly endedHere: (runId: string) => void;
  /** Looks the alerts of new runs up in Prometheus, off the request path. */
  readonly sight: (alerts: readonly Alert[]) => void;
}

/** Builds the after-commit stage. */
export function afterCommit(deps: AfterCommitDeps): (alerts: readonly Alert[], out: DeliveryOutcome) => void {
  return (alerts, out) => {
    for (const a of alerts) deps.metrics.alertsReceived.inc({ status: a.status });
    for (const d of out.tally) deps.metrics.decisions.inc({ decision: d.decision, reason: d.reason ?? 'none' });
    for (const reason of out.escalations) deps.metrics.escalations.inc({ reason });
    if (out.runs.length > 0) deps.wake();
    for (const c of out.cancelNow) deps.abortRun(c.runId, c.reason);
    for (const runId of out.endedNow) deps.endedHere(runId);
    if (out.sightings.length > 0) deps.sight(out.sightings);
  };
}
