/** Per-runbook state of the PostgreSQL store: the fleet breaker and the time the attempt budgets were last reset. */

import type { BreakerState } from '../run-store.js';
import { first, rows, type Queryable } from './rows.js';

interface BreakerRow {
  readonly runbook: string;
  readonly breaker_opened_at: number;
  readonly breaker_last_seen_at: number;
}

function toBreaker(row: BreakerRow): BreakerState {
  return { runbook: row.runbook, openedAt: row.breaker_opened_at, lastSeenAt: row.breaker_last_seen_at };
}

/** The runbook's open breaker, or null when it is closed. */
export async function readBreaker(db: Queryable, runbook: string): Promise<BreakerState | null> {
  const row = await first<BreakerRow>(
    db,
    'SELECT runbook, breaker_opened_at, breaker_last_seen_at FROM runbook_state WHERE runbook = $1 AND breaker_opened_at IS NOT NULL',
    [runbook],
  );
  return row === undefined ? null : toBreaker(row);
}

/** Every open breaker, by runbook. */
export async function readOpenBreakers(db: Queryable): Promise<Map<string, BreakerState>> {
  const open = await rows<BreakerRow>(
    db,
    'SELECT runbook, breaker_opened_at, breaker_last_seen_at FROM runbook_state WHERE breaker_opened_at IS NOT NULL ORDER BY runbook',
  );
  return new Map(open.map((r) => [r.runbook, toBreaker(r)]));
}

/** Opens the breaker at now; leaves an open one exactly as it is, so an opening is escalated once. */
export async function openBreaker(db: Queryable, runbook: string, now: number): Promise<void> {
  await db.query(
    `INSERT INTO runbook_state (runbook, breaker_opened_at, breaker_last_seen_at) VALUES ($1, $2, $2)
     ON CONFLICT (runbook) DO UPDATE SET breaker_opened_at = excluded.breaker_opened_at, breaker_last_seen_at = excluded.breaker_last_seen_at
     WHERE runbook_state.breaker_opened_at IS NULL`,
    [runbook, now],
  );
}

/** Moves an open breaker's lastSeenAt to now; a closed breaker stays closed. */
export async function touchBreaker(db: Queryable, runbook: string, now: number): Promise<void> {
  await db.query('UPDATE runbook_state SET breaker_last_seen_at = $1 WHERE runbook = $2 AND breaker_opened_at IS NOT NULL', [now, runbook]);
}

/** Closes the breaker, keeping the budget reset time. */
export async function closeBreaker(db: Queryable, runbook: string): Promise<void> {
  await db.query('UPDATE runbook_state SET breaker_opened_at = NULL, breaker_last_seen_at = NULL WHERE runbook = $1', [runbook]);
}

/** Closes the breaker and starts the attempt budgets afresh at the database's now. */
export async function resetRunbook(db: Queryable, runbook: string): Promise<void> {
  await db.query(
    `INSERT INTO runbook_state (runbook, breaker_opened_at, breaker_last_seen_at, budget_reset_at) VALUES ($1, NULL, NULL, remediator_now_ms())
     ON CONFLICT (runbook) DO UPDATE SET breaker_opened_at = NULL, breaker_last_seen_at = NULL, budget_reset_at = excluded.budget_reset_at`,
    [runbook],
  );
}

/** Runs of (runbook, target) that executed a step and started at or after sinceMs and strictly after the last reset. */
export async function countAttempts(db: Queryable, runbook: string, target: string, sinceMs: number): Promise<number> {
  const row = await first<{ n: number }>(
    db,
    `SELECT count(*) AS n FROM runs WHERE runbook = $1 AND target = $2 AND executed AND started_at >= $3
       AND started_at > coalesce((SELECT budget_reset_at FROM runbook_state WHERE runbook = $1), -1)`,
    [runbook, target, sinceMs],
  );
  return row?.n ?? 0;
}
