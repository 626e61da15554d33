/** The cooldown rule: after a run ends on a target, a new episode waits; the wait doubles after each failed run. */

import type { Safety } from '../core/runbook.js';

/** The longest a doubled cooldown grows to (SPEC §4), unless the configured base is longer. */
export const MAX_COOLDOWN_MS = 3_600_000;

/** The cooldown after `consecutiveFailures` failed runs in a row: base × 2^n, capped at 1h (or the base if larger). */
export function effectiveCooldownMs(baseMs: number, consecutiveFailures: number): number {
  if (baseMs <= 0) return 0;
  const cap = Math.max(MAX_COOLDOWN_MS, baseMs);
  return Math.min(cap, baseMs * 2 ** Math.min(consecutiveFailures, 20));
}

/** When a new run on the target may start, or null when no cooldown applies now. */
export function cooldownUntil(
  safety: Pick<Safety, 'cooldownMs'>,
  last: { endedAt: number; consecutiveFailures: number } | null,
  now: number,
): number | null {
  if (last === null) return null;
  const until = last.endedAt + effectiveCooldownMs(safety.cooldownMs, last.consecutiveFailures);
  return until > now ? until : null;
}
