/** Rows as node-postgres returns them from this schema, and the small helpers every query of the adapter uses. */

import pg from 'pg';
import type { CandidateRow, RunRow } from '../sqlite/rows.js';

/** A pool or one checked-out client: whatever runs a query (a pooled client keeps a transaction's statements together). */
export type Queryable = Pick<pg.PoolClient, 'query'>;

const INT8_OID = 20;

/**
 * bigint columns (epoch ms, counts) as numbers: node-postgres returns them as strings because int8 can exceed 2^53, which
 * no time or count here does. Set per pool, not on pg.types, so that other users of `pg` in the process are untouched.
 */
export const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (text: string) => Number(text) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** Runs one statement and returns its rows. */
export async function rows<R extends pg.QueryResultRow>(db: Queryable, sql: string, params: readonly unknown[] = []): Promise<R[]> {
  return (await db.query<R>(sql, params as unknown[])).rows;
}

/** Runs one statement and returns its first row, or undefined. */
export async function first<R extends pg.QueryResultRow>(db: Queryable, sql: string, params: readonly unknown[] = []): Promise<R | undefined> {
  return (await rows<R>(db, sql, params))[0];
}

/** Runs one statement and returns how many rows it changed. */
export async function changed(db: Queryable, sql: string, params: readonly unknown[] = []): Promise<number> {
  return (await db.query(sql, params as unknown[])).rowCount ?? 0;
}

/** A runs row: SQLite's shape, with `executed` a boolean. */
export type PgRunRow = Omit<RunRow, 'executed'> & { readonly executed: boolean };

/** What claimCandidates reads of a run: SQLite's shape, with `waited` a boolean. */
export type PgCandidateRow = Omit<CandidateRow, 'waited'> & { readonly waited: boolean };

export interface TierRow {
  readonly tier_index: number;
  readonly state: string;
  readonly verified: boolean;
  readonly verify_json: string | null;
  readonly started_at: number | null;
  readonly ended_at: number | null;
}

export interface StepRow {
  readonly tier_index: number;
  readonly phase: 'steps' | 'onFailure';
  readonly step_index: number;
  readonly name: string | null;
  readonly kind: string | null;
  readonly state: string;
  readonly argv_json: string | null;
  readonly host: string | null;
  readonly exit_code: number | null;
  readonly signal: string | null;
  readonly timed_out: boolean;
  readonly stopped_by: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdout_truncated: boolean;
  readonly stderr_truncated: boolean;
  readonly error_json: string | null;
  readonly evidence_json: string | null;
  readonly attempts: number;
  readonly started_at: number | null;
  readonly ended_at: number | null;
}

/** The JSON of a step's evidence or a tier's verification, or null when there is none. */
export function optionalJson(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}
