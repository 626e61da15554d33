/** Roles one replica at a time holds, River-style: one row per role with a holder, a term and an expiry on the database clock. */

import type { LeaderRole } from '../run-store.js';
import { first, type Queryable } from './rows.js';

/**
 * Takes the role when it is free or its term ran out (a new term), renews it when ours: one statement, so two replicas
 * asking at once serialise on the row and exactly one holds it. The database's now is read once: excluded.expires_at
 * is now + termMs, so the update's now is excluded.expires_at - termMs.
 */
export async function holdLeadership(db: Queryable, role: LeaderRole, owner: string, termMs: number): Promise<boolean> {
  const row = await first<{ holder: string }>(
    db,
    `INSERT INTO leadership AS l (role, holder, term, expires_at) SELECT $1, $2, 1, remediator_now_ms() + $3::bigint
     ON CONFLICT (role) DO UPDATE SET
       term = CASE WHEN l.holder = excluded.holder AND l.expires_at > excluded.expires_at - $3::bigint THEN l.term ELSE l.term + 1 END,
       holder = excluded.holder, expires_at = excluded.expires_at
     WHERE l.holder = excluded.holder OR l.expires_at <= excluded.expires_at - $3::bigint
     RETURNING holder`,
    [role, owner, Math.max(0, Math.floor(termMs))],
  );
  return row?.holder === owner;
}

/** Gives the role up at once when owner holds it, so that another replica need not wait out the term. */
export async function releaseLeadership(db: Queryable, role: LeaderRole, owner: string): Promise<void> {
  await db.query('UPDATE leadership SET expires_at = remediator_now_ms() WHERE role = $1 AND holder = $2 AND expires_at > remediator_now_ms()', [role, owner]);
}
