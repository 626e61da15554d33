/** Parsing of the list endpoints' query strings: filters, RFC 3339 times, limit and cursor. */

import { RemediatorError } from '../core/errors.js';
import type { Page } from './run-store.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

type Query = Record<string, unknown>;

/** A single string query parameter, or undefined; repeated parameters are a 400. */
export function queryString(query: Query, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new RemediatorError('BAD_REQUEST', `query parameter ${name} must be given once`);
  return v;
}

/** An RFC 3339 time parameter as epoch ms. */
export function queryTime(query: Query, name: string): number | undefined {
  const v = queryString(query, name);
  if (v === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) throw new RemediatorError('BAD_REQUEST', `${name} must be an RFC 3339 time, got ${JSON.stringify(v)}`);
  return ms;
}

/** limit (default 50, at most 500) and the opaque cursor. */
export function queryPage(query: Query): Page {
  const raw = queryString(query, 'limit');
  let limit = DEFAULT_LIMIT;
  if (raw !== undefined) {
    if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new RemediatorError('BAD_REQUEST', 'limit must be a whole number from 1 to 500');
    limit = Number(raw);
    if (limit > MAX_LIMIT) throw new RemediatorError('BAD_REQUEST', `limit must be at most ${MAX_LIMIT}`);
  }
  return { limit, cursor: queryString(query, 'cursor') ?? null };
}

/** Copies the named string filters that are present. */
export function queryFilters<K extends string>(query: Query, names: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const n of names) {
    const v = queryString(query, n);
    if (v !== undefined) out[n] = v;
  }
  return out;
}
