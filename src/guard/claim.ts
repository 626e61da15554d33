/** The claim-time guard: which due run a free worker may take now (SPEC §6: stale, target_busy, pool_busy, rate_limited; kill switch). */

import type { GuardReason } from '../core/run.js';
import type { ClaimCandidate, RunStore, StoreTx } from '../history/run-store.js';

export interface ClaimOptions {
  readonly owner: string;
  readonly leaseMs: number;
  /** Runs started across all replicas within a minute, at most (limits.maxRunStartsPerMinute). */
  readonly maxRunStartsPerMinute?: number;
  /** How many due runs to look at per claim. */
  readonly scan?: number;
  /** Told of every claim-time decision, once per run and reason, for metrics, logs and escalation. */
  readonly onDecision?: (runId: string, reason: GuardReason) => void;
}

export interface ClaimedRun {
  readonly runId: string;
  readonly fence: number;
  /** It was deferred or had to wait: its alert must be checked to be still firing before it acts. */
  readonly waited: boolean;
  /** It was running when its worker went away: it resumes, and no claim-time check applies. */
  readonly resumed: boolean;
}

const MINUTE_MS = 60_000;

/** Why a candidate must wait now, or null when it may start. */
async function waitReason(tx: StoreTx, c: ClaimCandidate): Promise<GuardReason | null> {
  if (await tx.targetHeld(c.target, c.runId)) return 'target_busy';
  if (c.pool !== null && (await tx.poolActive(c.pool)) >= c.maxConcurrentPerPool) return 'pool_busy';
  return null;
}

/** Claims the oldest run that may start now, in one store transaction; null when none may. */
export function claimNext(store: RunStore, options: ClaimOptions): Promise<ClaimedRun | null> {
  const notify = options.onDecision ?? (() => undefined);
  const take = async (tx: StoreTx, c: ClaimCandidate): Promise<ClaimedRun> => ({
    runId: c.runId,
    fence: await tx.claim(c.runId, options.owner, options.leaseMs),
    waited: c.waited,
    resumed: c.resumed,
  });
  const wait = async (tx: StoreTx, c: ClaimCandidate, reason: GuardReason): Promise<void> => {
    if (c.waitingFor === reason) return;
    await tx.setWaiting(c.runId, reason);
    notify(c.runId, reason);
  };
  return store.transact(async (tx) => {
    const candidates = await tx.claimCandidates(options.scan ?? 32);
    if (candidates.length === 0) return null;
    const paused = await tx.globalPaused();
    const now = tx.now();
    const rateLimited = options.maxRunStartsPerMinute !== undefined && (await tx.startsSince(now - MINUTE_MS)) >= options.maxRunStartsPerMinute;
    for (const c of candidates) {
      // A resumed run already holds its target; the executor applies the kill switch at its next step.
      if (c.resumed) return take(tx, c);
      if (paused || (await tx.runbookPaused(c.runbook))) continue;
      if (now - c.createdAt > c.maxPendingAgeMs) {
        await tx.skipRun(c.runId, 'stale');
        notify(c.runId, 'stale');
        continue;
      }
      const reason = rateLimited ? 'rate_limited' : await waitReason(tx, c);
      if (reason !== null) {
        await wait(tx, c, reason);
        continue;
      }
      return take(tx, c);
    }
    return null;
  });
}
