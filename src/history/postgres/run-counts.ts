/** The store-wide counts behind the scrape-time gauges, in one PostgreSQL statement on the database clock. */

import type { RunCounts } from '../run-store.js';
import { first, type Queryable } from './rows.js';

/** Runs awaiting approval, and running runs whose lease lapsed on the database clock (as expiredRuns sees them). */
export async function countRuns(db: Queryable): Promise<RunCounts> {
  const row = await first<{ awaiting_approval: number; lease_expired: number }>(
    db,
    `SELECT (SELECT count(*) FROM runs WHERE state = 'awaiting_approval') AS awaiting_approval,
            (SELECT count(*) FROM runs WHERE state = 'running' AND lease_owner IS NOT NULL AND lease_expires_at <= remediator_now_ms()) AS lease_expired`,
  );
  return { awaitingApproval: row?.awaiting_approval ?? 0, leaseExpired: row?.lease_expired ?? 0 };
}
