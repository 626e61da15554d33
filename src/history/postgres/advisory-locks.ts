/**
 * Transaction-scoped advisory locks: what serialises the guard's count-then-write decisions across replicas under READ
 * COMMITTED. Each is released at commit or rollback; taking one twice in a transaction stacks harmlessly. Every lock is
 * its own statement, so the reads that follow it take their snapshot after the previous holder's commit.
 */

import type { Queryable } from './rows.js';

// A name is hashed to the lock's bigint; a collision of two names only makes two unrelated decisions wait for each other.
// Names are JSON arrays, which keeps their parts apart without a separator PostgreSQL text could not hold (it has no \u0000).
async function lockName(db: Queryable, parts: readonly string[]): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [JSON.stringify(parts)]);
}

/**
 * Claims, one at a time fleet-wide: target_busy, pool_busy and rate_limited read counts that change only at a claim, so
 * with claims serialised those limits are exact, as they are on SQLite.
 */
export function lockClaims(db: Queryable): Promise<void> {
  return lockName(db, ['remediator:claim']);
}

/** One (runbook, target): two deliveries of different episodes cannot both see no active run and both create one. */
export function lockActive(db: Queryable, runbook: string, target: string): Promise<void> {
  return lockName(db, ['remediator:active', runbook, target]);
}

/** One runbook's fleet breaker: it counts distinct targets, and two deliveries must not both pass it on one count. */
export function lockRunbook(db: Queryable, runbook: string): Promise<void> {
  return lockName(db, ['remediator:runbook', runbook]);
}

/** One episode key (startsAt canonical): a concurrent copy waits for the first to commit, then finds its run and counts on it. */
export function lockEpisode(db: Queryable, runbook: string, fingerprint: string, startsAt: string): Promise<void> {
  return lockName(db, ['remediator:episode', runbook, fingerprint, startsAt]);
}

/**
 * One alert episode (fingerprint, startsAt canonical) across its runbooks: a resolved copy and a firing copy decide one
 * after the other, so the firing copy either sees the resolution or leaves a run the resolved copy then finds and cancels.
 */
export function lockResolved(db: Queryable, fingerprint: string, startsAt: string): Promise<void> {
  return lockName(db, ['remediator:resolved', fingerprint, startsAt]);
}
