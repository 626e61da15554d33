/** The fleet breaker: too many distinct targets of one runbook at once means the observer is more likely wrong than the fleet. */

import type { Runbook } from '../core/runbook.js';
import type { StoreTx } from '../history/run-store.js';

/** What the breaker says about a new run on `target`: go on, refuse (open), or refuse because it just opened. */
export type BreakerVerdict = 'closed' | 'open' | 'opened';

/**
 * Open: refuse and note that the runbook was asked again. Closed: count the distinct targets of the runbook's runs within
 * `per`; one more new target than maxTargets opens it (latched until reset, or until `per` passes without a refused alert).
 */
export async function checkFleetBreaker(tx: StoreTx, runbook: Runbook, target: string, now: number): Promise<BreakerVerdict> {
  const { maxTargets, perMs } = runbook.safety.fleetBreaker;
  const state = await tx.breaker(runbook.name);
  if (state !== null) {
    if (now - state.lastSeenAt <= perMs) {
      await tx.touchBreaker(runbook.name);
      return 'open';
    }
    await tx.closeBreaker(runbook.name);
  }
  const targets = await tx.fleetTargets(runbook.name, now - perMs, target);
  if (targets.includes || targets.count + 1 <= maxTargets) return 'closed';
  await tx.openBreaker(runbook.name);
  return 'opened';
}
