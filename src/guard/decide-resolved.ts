/** The receive-time guard for a resolved (alert, runbook) pair: it never starts a run; it may end one. */

import type { Alert } from '../core/alert.js';
import type { Runbook } from '../core/runbook.js';
import type { StoreTx } from '../history/run-store.js';
import { recordDecision, type DeliveryOutcome } from './guard-types.js';

/**
 * Remembers that the episode resolved (so a lagging HA peer's firing copy is `resolved` too), cancels its pending or
 * approval-waiting run, and its running run when the run's own plan says cancelOnResolve; records `resolved`.
 */
export async function decideResolved(tx: StoreTx, alert: Alert, runbook: Runbook, out: DeliveryOutcome): Promise<void> {
  await tx.recordResolved(alert.fingerprint, alert.startsAt);
  const holder = await tx.findEpisode(runbook.name, alert.fingerprint, alert.startsAt);
  if (holder !== null) {
    if (holder.state === 'pending') {
      await tx.cancelPending(holder.runId, 'resolved');
    } else if (holder.state === 'awaiting_approval') {
      if (await tx.cancelAwaiting(holder.runId, 'resolved')) out.endedNow.push(holder.runId);
    } else if (holder.state === 'running' && holder.cancelOnResolve) {
      if (await tx.requestCancel(holder.runId, 'resolved')) out.cancelNow.push({ runId: holder.runId, reason: 'resolved' });
    }
  }
  await recordDecision(tx, out, { alert, runbook: runbook.name, decision: 'skip', reason: 'resolved', runId: holder?.runId ?? null });
}
