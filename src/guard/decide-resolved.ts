/** The receive-time guard for a resolved (alert, runbook) pair: it never starts a run; it may cancel one. */

import type { Alert } from '../core/alert.js';
import type { Runbook } from '../core/runbook.js';
import type { StoreTx } from '../history/run-store.js';
import type { DeliveryOutcome } from './guard-types.js';

/** Cancels the episode's pending run, or its running run when the runbook says cancelOnResolve; records `resolved`. */
export async function decideResolved(tx: StoreTx, alert: Alert, runbook: Runbook, out: DeliveryOutcome): Promise<void> {
  const holder = await tx.findEpisode(runbook.name, alert.fingerprint, alert.startsAt);
  if (holder !== null) {
    if (holder.state === 'pending') {
      await tx.cancelPending(holder.runId, 'resolved');
    } else if (holder.state === 'running' && runbook.cancelOnResolve) {
      if (await tx.requestCancel(holder.runId, 'resolved')) out.cancelNow.push({ runId: holder.runId, reason: 'resolved' });
    }
  }
  out.decisions.push(
    await tx.insertDecision({ alert, runbook: runbook.name, decision: 'skip', reason: 'resolved', runId: holder?.runId ?? null }),
  );
}
