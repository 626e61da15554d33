/** The keys one delivery's guard will read, known before deciding any pair: episodes, (runbook, target) pairs, runbooks. */

import type { Alert } from '../core/alert.js';
import { canonicalInstant } from '../core/instant.js';
import type { Runbook } from '../core/runbook.js';
import type { DeliveryKeys } from '../history/run-store.js';
import { render } from './decide-firing.js';

/** Every key the pairs of `matched` may touch at time `now` (the transaction's now). */
export function deliveryKeys(matched: readonly (readonly [Alert, readonly Runbook[]])[], now: number): DeliveryKeys {
  const episodes: DeliveryKeys['episodes'][number][] = [];
  const pairs = new Map<string, DeliveryKeys['pairs'][number]>();
  const runbooks = new Map<string, DeliveryKeys['runbooks'][number]>();
  for (const [alert, matches] of matched) {
    const startsAt = canonicalInstant(alert.startsAt) ?? alert.startsAt;
    if (matches.length === 0) episodes.push({ runbook: null, fingerprint: alert.fingerprint, startsAt });
    for (const runbook of matches) {
      episodes.push({ runbook: runbook.name, fingerprint: alert.fingerprint, startsAt });
      if (alert.status !== 'firing' || runbook.mode === 'shadow') continue;
      const rendered = render(runbook, alert);
      if (rendered === null) continue;
      pairs.set(`${runbook.name}\u0000${rendered.target}`, { runbook: runbook.name, target: rendered.target, attemptsSinceMs: now - runbook.safety.maxAttempts.perMs });
      runbooks.set(runbook.name, { runbook: runbook.name, targetsSinceMs: now - runbook.safety.fleetBreaker.perMs });
    }
  }
  return { episodes, pairs: [...pairs.values()], runbooks: [...runbooks.values()] };
}
