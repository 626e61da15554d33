/**
 * The one place that knows the order of the stages (SPEC §2), as Alertmanager's notify.go composes its own.
 *
 *   a delivery:  receive → match → guard → commit → (2xx) → after commit: wake workers, stop or report runs, sight alerts
 *   a worker:    claim → preflight → execute → verify → report
 *
 * Every stage is passed in; none imports this file, and this file does no I/O of its own.
 */

import type { Alert } from './core/alert.js';
import type { Runbook } from './core/runbook.js';
import type { ClaimedRun } from './guard/claim.js';
import type { ClaimStages } from './guard/claimer.js';
import { decideFiring, type PlanContext } from './guard/decide-firing.js';
import { decideResolved } from './guard/decide-resolved.js';
import { emptyOutcome, recordDecision, type DeliveryOutcome } from './guard/guard-types.js';
import type { DeliveryIO, StoreTx } from './history/run-store.js';
import { deliveryKeys, settledPairs } from './guard/delivery-keys.js';
import { DeliveryView } from './guard/delivery-view.js';
import type { ExecutorDeps } from './execute/run-executor.js';
import type { VerifyTier } from './execute/run-walk.js';

/** What one delivery goes through; each a function so tests and replicas can pass their own. */
export interface DeliveryStages {
  /** match: the runbooks an alert matches, from the catalog in force now. */
  readonly match: (alert: Alert) => readonly Runbook[];
  /** commit: runs the guard in one store transaction; committed together or not at all. */
  readonly commit: <T>(guard: (tx: StoreTx) => Promise<T>) => Promise<T>;
  readonly plan: PlanContext;
  /** after commit (the 2xx is then safe to send): what the outcome sets in motion. */
  readonly afterCommit: (alerts: readonly Alert[], out: DeliveryOutcome) => void;
}

/** The set-based side, where the store offers it (both adapters do; a test's bare StoreTx may not). */
function offersDeliveryIO(tx: StoreTx): tx is StoreTx & DeliveryIO {
  const maybe = tx as Partial<DeliveryIO>;
  return typeof maybe.readHeld === 'function' && typeof maybe.readDelivery === 'function' && typeof maybe.writeDelivery === 'function';
}

/** guard: every (alert, runbook) pair decided inside the delivery's transaction (SPEC §6), read and written set-based. */
async function guard(store: StoreTx, stages: DeliveryStages, matched: readonly (readonly [Alert, readonly Runbook[]])[]): Promise<DeliveryOutcome> {
  if (!offersDeliveryIO(store)) return decideAll(store, stages, matched);
  // Repeats of held episodes first, without locks: Alertmanager re-sends every group each group_interval and repeat_interval.
  const now = store.now();
  const settled = await settledPairs(store, matched, now);
  const view = await DeliveryView.open(store, deliveryKeys(matched, now, settled), settled);
  const out = await decideAll(view, stages, matched);
  await view.flush();
  view.settle(out.decisions);
  return out;
}

async function decideAll(tx: StoreTx, stages: DeliveryStages, matched: readonly (readonly [Alert, readonly Runbook[]])[]): Promise<DeliveryOutcome> {
  const out = emptyOutcome();
  for (const [alert, runbooks] of matched) {
    if (runbooks.length === 0) await recordDecision(tx, out, { alert, runbook: null, decision: 'skip', reason: 'no_match', runId: null });
    for (const runbook of runbooks) {
      if (alert.status === 'resolved') await decideResolved(tx, alert, runbook, out);
      else await decideFiring(tx, stages.plan, alert, runbook, out);
    }
  }
  return out;
}

/** match → guard → commit → after commit, for the alerts a received body carried; resolves once committed. */
export function createDelivery(stages: DeliveryStages): (alerts: readonly Alert[]) => Promise<DeliveryOutcome> {
  return async (alerts) => {
    const matched = alerts.map((alert) => [alert, stages.match(alert)] as const);
    const out = await stages.commit((tx) => guard(tx, stages, matched));
    stages.afterCommit(alerts, out);
    return out;
  };
}

/** What a free worker goes through: the claim-side guard, then the executor with its verification and reporting. */
export interface RunStages extends ClaimStages {
  /** verify: each tier's PromQL check with its deadline. */
  readonly verify: VerifyTier;
  /** report: what reporting and escalation hear of a run's life (start, end, approval waits, still firing). */
  readonly report: Pick<ExecutorDeps, 'onRunStarted' | 'onRunEnded' | 'onAwaitingApproval' | 'stillFiring'>;
}

/** Claims skipped at preflight per call, at most, before the worker yields. */
const MAX_SKIPS = 16;

/** claim → preflight (skipping what fails it); then execute walks the tiers, calling verify and report in their order. */
export function createRunPath(stages: RunStages): { readonly next: () => Promise<ClaimedRun | null>; readonly verify: VerifyTier; readonly report: RunStages['report'] } {
  return {
    async next() {
      for (let skips = 0; skips < MAX_SKIPS; skips++) {
        const claimed = await stages.claim();
        if (claimed === null) return null;
        const verdict = await stages.preflight(claimed);
        if (verdict.go) return claimed;
        await stages.skip(claimed, verdict);
      }
      return null;
    },
    verify: stages.verify,
    report: stages.report,
  };
}
