/** The store-wide counts behind the scrape-time gauges, in one SQLite statement. */

import type { RunCounts } from '../run-store.js';
import type { StatementCache } from './statement-cache.js';

/** Runs awaiting approval, and running runs whose lease lapsed before `now` (as expiredRuns sees them). */
export function countRuns(stmts: StatementCache, now: number): RunCounts {
  const row = stmts
    .get(
      `SELECT (SELECT count(*) FROM runs WHERE state = 'awaiting_approval') AS awaiting_approval,
              (SELECT count(*) FROM runs WHERE state = 'running' AND lease_owner IS NOT NULL AND lease_expires_at < ?) AS lease_expired`,
    )
    .get(now) as { awaiting_approval: number; lease_expired: number };
  return { awaitingApproval: row.awaiting_approval, leaseExpired: row.lease_expired };
}
