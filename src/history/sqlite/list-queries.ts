/** Keyset-paged listings of runs, decisions and escalations, newest first, each filter served by an index. */

import { RemediatorError } from '../../core/errors.js';
import type { Decision, RunSummary } from '../../core/run.js';
import type { DecisionFilter, Escalation, Page, PageOf, RunFilter } from '../run-store.js';
import { toEscalation, type EscalationRow } from './escalations.js';
import { SUMMARY_COLUMNS, toDecision, toRunSummary, type DecisionRow, type SummaryRow } from './rows.js';
import type { StatementCache } from './statement-cache.js';

interface Cursor {
  readonly at: number;
  readonly id: string;
}

/** Encodes the position after the last row of a page. */
export function encodeCursor(at: number, id: string): string {
  return Buffer.from(JSON.stringify([at, id]), 'utf8').toString('base64url');
}

/** Decodes a cursor made by encodeCursor; anything else is a BAD_REQUEST. */
export function decodeCursor(text: string): Cursor {
  const invalid = new RemediatorError('BAD_REQUEST', 'cursor is not valid');
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw invalid;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (!Array.isArray(value) || value.length !== 2) throw invalid;
  const [at, id] = value as unknown[];
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || typeof id !== 'string' || id === '') throw invalid;
  return { at, id };
}

type Where = { clauses: string[]; binds: unknown[] };

/**
 * The index a run listing walks, most selective filter first. The planner cannot know that active states are rare
 * and final states common, and a wrong guess scans a whole filter's worth of a million rows, so the choice is ours.
 */
function runIndex(filter: RunFilter): string {
  if (filter.fingerprint !== undefined) return 'runs_list_fingerprint';
  if (filter.target !== undefined) return 'runs_list_target';
  if (filter.state === 'pending' || filter.state === 'running' || filter.state === 'awaiting_approval') return 'runs_list_state';
  if (filter.alertname !== undefined) return 'runs_list_alertname';
  if (filter.runbook !== undefined && filter.state !== undefined) return 'runs_list_runbook_state';
  if (filter.faultClass !== undefined && filter.state !== undefined) return 'runs_list_fault_class_state';
  if (filter.runbook !== undefined) return 'runs_list_runbook';
  if (filter.faultClass !== undefined) return 'runs_list_fault_class';
  if (filter.state !== undefined) return 'runs_list_state';
  return 'runs_list';
}

function decisionIndex(filter: DecisionFilter): string {
  if (filter.fingerprint !== undefined) return 'decisions_list_fingerprint';
  if (filter.alertname !== undefined) return 'decisions_list_alertname';
  if (filter.runbook !== undefined) return 'decisions_list_runbook';
  if (filter.reason !== undefined) return 'decisions_list_reason';
  return 'decisions_list';
}

function addEquals(where: Where, column: string, value: string | undefined): void {
  if (value === undefined) return;
  where.clauses.push(`${column} = ?`);
  where.binds.push(value);
}

function addRange(where: Where, column: string, since: number | undefined, until: number | undefined, cursor: string | null): void {
  if (since !== undefined) {
    where.clauses.push(`${column} >= ?`);
    where.binds.push(since);
  }
  if (until !== undefined) {
    where.clauses.push(`${column} < ?`);
    where.binds.push(until);
  }
  if (cursor !== null) {
    const c = decodeCursor(cursor);
    where.clauses.push(`(${column}, id) < (?, ?)`);
    where.binds.push(c.at, c.id);
  }
}

function pageSql(columns: string, table: string, index: string, where: Where, orderColumn: string): string {
  const filter = where.clauses.length === 0 ? '' : `WHERE ${where.clauses.join(' AND ')}`;
  return `SELECT ${columns} FROM ${table} INDEXED BY ${index} ${filter} ORDER BY ${orderColumn} DESC, id DESC LIMIT ?`;
}

function toPage<R extends { id: string }, T>(rows: R[], limit: number, at: (row: R) => number, map: (row: R) => T): PageOf<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return { items: kept.map(map), nextCursor: more && last !== undefined ? encodeCursor(at(last), last.id) : null };
}

/** Lists runs newest first (createdAt, then id), filtered and keyset-paged. */
export function listRuns(stmts: StatementCache, filter: RunFilter, page: Page): PageOf<RunSummary> {
  const where: Where = { clauses: [], binds: [] };
  addEquals(where, 'state', filter.state);
  addEquals(where, 'runbook', filter.runbook);
  addEquals(where, 'fault_class', filter.faultClass);
  addEquals(where, 'target', filter.target);
  addEquals(where, 'alertname', filter.alertname);
  addEquals(where, 'fingerprint', filter.fingerprint);
  addRange(where, 'created_at', filter.since, filter.until, page.cursor);
  const limit = Math.max(1, Math.floor(page.limit));
  const rows = stmts.get(pageSql(SUMMARY_COLUMNS, 'runs', runIndex(filter), where, 'created_at')).all(...where.binds, limit + 1) as SummaryRow[];
  return toPage(rows, limit, (r) => r.created_at, toRunSummary);
}

/** Lists decisions newest first (receivedAt, then id), filtered and keyset-paged. */
export function listDecisions(stmts: StatementCache, filter: DecisionFilter, page: Page): PageOf<Decision> {
  const where: Where = { clauses: [], binds: [] };
  addEquals(where, 'runbook', filter.runbook);
  addEquals(where, 'fingerprint', filter.fingerprint);
  addEquals(where, 'alertname', filter.alertname);
  addEquals(where, 'reason', filter.reason);
  addEquals(where, 'decision', filter.decision);
  addRange(where, 'received_at', filter.since, filter.until, page.cursor);
  const limit = Math.max(1, Math.floor(page.limit));
  const rows = stmts.get(pageSql('*', 'decisions', decisionIndex(filter), where, 'received_at')).all(...where.binds, limit + 1) as DecisionRow[];
  return toPage(rows, limit, (r) => r.received_at, toDecision);
}

/** Lists escalations newest first (createdAt, then id), by runbook or run, keyset-paged. */
export function listEscalations(
  stmts: StatementCache,
  filter: { readonly runbook?: string; readonly runId?: string },
  page: Page,
): PageOf<Escalation> {
  const where: Where = { clauses: [], binds: [] };
  addEquals(where, 'run_id', filter.runId);
  addEquals(where, 'runbook', filter.runbook);
  addRange(where, 'created_at', undefined, undefined, page.cursor);
  const index = filter.runId !== undefined ? 'escalations_list_run' : filter.runbook !== undefined ? 'escalations_list_runbook' : 'escalations_list';
  const limit = Math.max(1, Math.floor(page.limit));
  const rows = stmts.get(pageSql('*', 'escalations', index, where, 'created_at')).all(...where.binds, limit + 1) as EscalationRow[];
  return toPage(rows, limit, (r) => r.created_at, toEscalation);
}
