/**
 * The claim-time checks that ask other systems, made after the claim commits and never inside a store transaction:
 * for a run that waited, that its alert still fires (SPEC §6), and `precheck` (its query must return something).
 */

import type { Logger } from 'pino';
import { toError } from '../core/errors.js';
import type { GuardReason } from '../core/run.js';
import type { RunStore } from '../history/run-store.js';
import type { Alert } from '../core/alert.js';
import type { AlertStateOracle } from '../verify/alert-state.js';
import { checkPrecheck } from '../verify/precheck.js';
import type { PrometheusClient } from '../verify/prometheus-client.js';
import type { ClaimedRun } from './claim.js';

export interface PreflightDeps {
  readonly store: RunStore;
  /** null when no Prometheus is configured: a precheck then fails closed. */
  readonly prometheus: PrometheusClient | null;
  /** Whether a waited run's alert still fires; null: not asked (the run acts as the delivery asked). */
  readonly alertState: AlertStateOracle | null;
  readonly logger: Logger;
  readonly timeoutMs?: number;
}

/** `go`, or the guard reason that skips the run, with what was seen. */
export type PreflightVerdict = { readonly go: true } | { readonly go: false; readonly reason: GuardReason; readonly detail: string };

const GO: PreflightVerdict = { go: true };

async function precheck(deps: PreflightDeps, query: string, signal: AbortSignal): Promise<PreflightVerdict> {
  if (deps.prometheus === null) return { go: false, reason: 'precheck_failed', detail: 'precheck needs prometheus.url, which is not configured' };
  try {
    const { met } = await checkPrecheck(deps.prometheus, query, { signal });
    return met ? GO : { go: false, reason: 'precheck_failed', detail: `precheck returned nothing: ${query}` };
  } catch (err) {
    // A precondition that cannot be checked does not hold: fail closed.
    return { go: false, reason: 'precheck_failed', detail: `precheck query failed: ${toError(err).message}` };
  }
}

async function stillFiring(deps: PreflightDeps, alert: Alert, signal: AbortSignal): Promise<PreflightVerdict> {
  if (deps.alertState === null) return GO;
  try {
    const seen = await deps.alertState(alert, { signal });
    // Unknown is not "resolved": the alert fired when it was received, so the run goes on (the oracle logged why).
    if (seen.state === 'firing' || seen.state === 'unknown') return GO;
    return { go: false, reason: 'not_firing_after_wait', detail: `${seen.state} (${seen.source}): ${seen.detail}` };
  } catch (err) {
    // Unknown is not "resolved": the alert fired when it was received, so the run goes on (and says why in the log).
    deps.logger.warn({ err: toError(err) }, 'cannot tell whether the alert still fires; acting on the delivery');
    return GO;
  }
}

/** Decides whether a freshly claimed run may act; a resumed run always may. */
export async function preflight(deps: PreflightDeps, claimed: ClaimedRun): Promise<PreflightVerdict> {
  if (claimed.resumed) return GO;
  const run = await deps.store.getRun(claimed.runId);
  if (run === null) return GO;
  const signal = AbortSignal.timeout(deps.timeoutMs ?? 10_000);
  if (claimed.waited) {
    const firing = await stillFiring(deps, run.alert, signal);
    if (!firing.go) return firing;
  }
  const query = run.plan.precheck ?? null;
  return query === null ? GO : precheck(deps, query, signal);
}
