/** Keyset-paged listings of runs, decisions and escalations, newest first, on the same cursors as the SQLite store. */

import type { Decision, RunSummary } from '../../core/run.js';
import type { DecisionFilter, Escalation, Page, PageOf, RunFilter } from '../run-store.js';
import { toEscalation, type EscalationRow } from '../sqlite/escalations.js';
import { decodeCursor, encodeCursor } from '../sqlite/list-queries.js';
import { SUMMARY_COLUMNS, toDecision, toRunSummary, type DecisionRow, type SummaryRow } from '../sqlite/rows.js';
import { rows, type Queryable } from './rows.js';

/** WHERE clauses and their binds, numbered as they are added. */
class Where {
  readonly clauses: string[] = [];
  readonly binds: unknown[] = [];

  /** The placeholder of a new bind. */
  bind(value: unknown): string {
    this.binds.push(value);
    return `$${this.binds.length}`;
  }

  equals(column: string, value: string | undefined): this {
    if (value !== undefined) this.clauses.push(`${column} = ${this.bind(value)}`);
    return this;
  }

  /** since inclusive, until exclusive, and the cursor: strictly older than the last row of the previous page. */
  range(column: string, since: number | undefined, until: number | undefined, cursor: string | null): this {
    if (since !== undefined) this.clauses.push(`${column} >= ${this.bind(since)}`);
    if (until !== undefined) this.clauses.push(`${column} < ${this.bind(until)}`);
    if (cursor !== null) {
      const c = decodeCursor(cursor);
      this.clauses.push(`(${column}, id) < (${this.bind(c.at)}, ${this.bind(c.id)})`);
    }
    return this;
  }

  /** The newest-first page query; the planner picks the (filter, time, id) index that the WHERE names. */
  page(columns: string, table: string, orderColumn: string, limit: number): string {
    const filter = this.clauses.length === 0 ? '' : `WHERE ${this.clauses.join(' AND ')}`;
    return `SELECT ${columns} FROM ${table} ${filter} ORDER BY ${orderColumn} DESC, id DESC LIMIT ${this.bind(limit + 1)}`;
  }
}

function toPage<R extends { id: string }, T>(found: R[], limit: number, at: (row: R) => number, map: (row: R) => T): PageOf<T> {
  const more = found.length > limit;
  const kept = more ? found.slice(0, limit) : found;
  const last = kept[kept.length - 1];
  return { items: kept.map(map), nextCursor: more && last !== undefined ? encodeCursor(at(last), last.id) : null };
}

const pageLimit = (page: Page): number => Math.max(1, Math.floor(page.limit));

/** Lists runs newest first (createdAt, then id), filtered and keyset-paged. */
export async function listRuns(db: Queryable, filter: RunFilter, page: Page): Promise<PageOf<RunSummary>> {
  const where = new Where()
    .equals('state', filter.state)
    .equals('runbook', filter.runbook)
    .equals('fault_class', filter.faultClass)
    .equals('target', filter.target)
    .equals('alertname', filter.alertname)
    .equals('fingerprint', filter.fingerprint)
    .range('created_at', filter.since, filter.until, page.cursor);
  const limit = pageLimit(page);
  const found = await rows<SummaryRow>(db, where.page(SUMMARY_COLUMNS, 'runs', 'created_at', limit), where.binds);
  return toPage(found, limit, (r) => r.created_at, toRunSummary);
}

/** Lists decisions newest first (receivedAt, then id), filtered and keyset-paged. */
export async function listDecisions(db: Queryable, filter: DecisionFilter, page: Page): Promise<PageOf<Decision>> {
  const where = new Where()
    .equals('runbook', filter.runbook)
    .equals('fingerprint', filter.fingerprint)
    .equals('alertname', filter.alertname)
    .equals('reason', filter.reason)
    .equals('decision', filter.decision)
    .range('received_at', filter.since, filter.until, page.cursor);
  const limit = pageLimit(page);
  const found = await rows<DecisionRow>(db, where.page('*', 'decisions', 'received_at', limit), where.binds);
  return toPage(found, limit, (r) => r.received_at, toDecision);
}

/** Lists escalations newest first (createdAt, then id), by runbook or run, keyset-paged. */
export async function listEscalations(db: Queryable, filter: { readonly runbook?: string; readonly runId?: string }, page: Page): Promise<PageOf<Escalation>> {
  const where = new Where().equals('run_id', filter.runId).equals('runbook', filter.runbook).range('created_at', undefined, undefined, page.cursor);
  const limit = pageLimit(page);
  const found = await rows<EscalationRow>(db, where.page('*', 'escalations', 'created_at', limit), where.binds);
  return toPage(found, limit, (r) => r.created_at, toEscalation);
}
