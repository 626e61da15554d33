/** The claim-time guard: which due run a free worker may take now (SPEC §6: stale, target_busy; kill switch). */

import type { GuardReason } from '../core/run.js';
import type { RunStore } from '../history/run-store.js';

export interface ClaimOptions {
  readonly owner: string;
  readonly leaseMs: number;
  /** How many due runs to look at per claim. */
  readonly scan?: number;
  /** Told of every claim-time decision, once per run and reason, for metrics and logs. */
  readonly onDecision?: (runId: string, reason: GuardReason) => void;
}

export interface ClaimedRun {
  readonly runId: string;
  readonly fence: number;
}

/** Claims the oldest run that may start now, in one store transaction; null when none may. */
export function claimNext(store: RunStore, options: ClaimOptions): Promise<ClaimedRun | null> {
  const notify = options.onDecision ?? (() => undefined);
  return store.transact(async (tx) => {
    const candidates = await tx.claimCandidates(options.scan ?? 32);
    if (candidates.length === 0) return null;
    const paused = await tx.globalPaused();
    const now = tx.now();
    for (const c of candidates) {
      // A resumed run already holds its target; the executor applies the kill switch at its next step.
      if (c.resumed) return { runId: c.runId, fence: await tx.claim(c.runId, options.owner, options.leaseMs) };
      if (paused || (await tx.runbookPaused(c.runbook))) continue;
      if (now - c.createdAt > c.maxPendingAgeMs) {
        await tx.skipRun(c.runId, 'stale');
        notify(c.runId, 'stale');
        continue;
      }
      if (await tx.targetHeld(c.target, c.runId)) {
        if (c.waitingFor !== 'target_busy') {
          await tx.setWaiting(c.runId, 'target_busy');
          notify(c.runId, 'target_busy');
        }
        continue;
      }
      return { runId: c.runId, fence: await tx.claim(c.runId, options.owner, options.leaseMs) };
    }
    return null;
  });
}
