/** Per-runbook state of the SQLite store: the fleet breaker and the time the attempt budgets were last reset. */

import type { BreakerState } from '../run-store.js';
import type { StatementCache } from './statement-cache.js';

interface BreakerRow {
  readonly runbook: string;
  readonly breaker_opened_at: number;
  readonly breaker_last_seen_at: number;
}

function toBreaker(row: BreakerRow): BreakerState {
  return { runbook: row.runbook, openedAt: row.breaker_opened_at, lastSeenAt: row.breaker_last_seen_at };
}

/** The runbook's open breaker, or null when it is closed. */
export function readBreaker(stmts: StatementCache, runbook: string): BreakerState | null {
  const row = stmts
    .get('SELECT runbook, breaker_opened_at, breaker_last_seen_at FROM runbook_state WHERE runbook = ? AND breaker_opened_at IS NOT NULL')
    .get(runbook) as BreakerRow | undefined;
  return row === undefined ? null : toBreaker(row);
}

/** Every open breaker, by runbook. */
export function readOpenBreakers(stmts: StatementCache): Map<string, BreakerState> {
  const rows = stmts
    .get('SELECT runbook, breaker_opened_at, breaker_last_seen_at FROM runbook_state WHERE breaker_opened_at IS NOT NULL ORDER BY runbook')
    .all() as BreakerRow[];
  return new Map(rows.map((r) => [r.runbook, toBreaker(r)]));
}

/** Opens the breaker at now; leaves an open one exactly as it is, so an opening is escalated once. */
export function openBreaker(stmts: StatementCache, runbook: string, now: number): void {
  stmts
    .get(
      `INSERT INTO runbook_state (runbook, breaker_opened_at, breaker_last_seen_at) VALUES (?, ?, ?)
       ON CONFLICT (runbook) DO UPDATE SET breaker_opened_at = excluded.breaker_opened_at, breaker_last_seen_at = excluded.breaker_last_seen_at
       WHERE runbook_state.breaker_opened_at IS NULL`,
    )
    .run(runbook, now, now);
}

/** Moves an open breaker's lastSeenAt to now; a closed breaker stays closed. */
export function touchBreaker(stmts: StatementCache, runbook: string, now: number): void {
  stmts.get('UPDATE runbook_state SET breaker_last_seen_at = ? WHERE runbook = ? AND breaker_opened_at IS NOT NULL').run(now, runbook);
}

/** Closes the breaker, keeping the budget reset time. */
export function closeBreaker(stmts: StatementCache, runbook: string): void {
  stmts.get('UPDATE runbook_state SET breaker_opened_at = NULL, breaker_last_seen_at = NULL WHERE runbook = ?').run(runbook);
}

/** Closes the breaker and starts the attempt budgets afresh at now. */
export function resetRunbook(stmts: StatementCache, runbook: string, now: number): void {
  stmts
    .get(
      `INSERT INTO runbook_state (runbook, breaker_opened_at, breaker_last_seen_at, budget_reset_at) VALUES (?, NULL, NULL, ?)
       ON CONFLICT (runbook) DO UPDATE SET breaker_opened_at = NULL, breaker_last_seen_at = NULL, budget_reset_at = excluded.budget_reset_at`,
    )
    .run(runbook, now);
}

/**
 * Runs of (runbook, target) that executed a step and started at or after sinceMs and strictly after the last reset;
 * the one query behind StoreTx.attemptsSince.
 */
export function countAttempts(stmts: StatementCache, runbook: string, target: string, sinceMs: number): number {
  return stmts
    .get(
      `SELECT count(*) FROM runs WHERE runbook = ? AND target = ? AND executed = 1 AND started_at >= ?
         AND started_at > coalesce((SELECT budget_reset_at FROM runbook_state WHERE runbook = ?), -1)`,
    )
    .pluck()
    .get(runbook, target, sinceMs, runbook) as number;
}
