/** The list pages' query strings: the API's filters and paging, where an empty form field means "any". */

import { RemediatorError } from '../core/errors.js';
import { RUN_STATES, type RunState } from '../core/run.js';
import { queryFilters, queryPage, queryString, queryTime } from '../history/query.js';
import type { DecisionFilter, Page, RunFilter } from '../history/run-store.js';

/** The run list's filter fields, in the order the form shows them. */
export const RUN_FIELDS = ['state', 'runbook', 'faultClass', 'target', 'alertname', 'fingerprint', 'since', 'until'] as const;
/** The decision list's filter fields. */
export const DECISION_FIELDS = ['decision', 'reason', 'runbook', 'alertname', 'fingerprint', 'since', 'until'] as const;

/** The raw field values as given (to fill the form again and to build the "older" link). */
export type FieldValues = Readonly<Record<string, string | undefined>>;

export interface ListQuery<F> {
  readonly filter: F;
  readonly page: Page;
  readonly values: FieldValues;
}

/** The query without empty strings, which a submitted form sends for every field left blank. */
function nonEmpty(query: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>)) if (v !== '') out[k] = v;
  return out;
}

function values(q: Record<string, unknown>, names: readonly string[]): FieldValues {
  const out: Record<string, string | undefined> = {};
  for (const n of [...names, 'limit']) out[n] = queryString(q, n);
  return out;
}

/** Filters of GET /runs, parsed as GET /api/v1/runs parses them. */
export function runListQuery(query: unknown): ListQuery<RunFilter> {
  const q = nonEmpty(query);
  const state = queryString(q, 'state');
  if (state !== undefined && !(RUN_STATES as readonly string[]).includes(state)) {
    throw new RemediatorError('BAD_REQUEST', `state must be one of ${RUN_STATES.join(', ')}`);
  }
  const filter: RunFilter = {
    ...queryFilters(q, ['runbook', 'faultClass', 'target', 'alertname', 'fingerprint'] as const),
    state: state as RunState | undefined,
    since: queryTime(q, 'since'),
    until: queryTime(q, 'until'),
  };
  return { filter, page: queryPage(q), values: values(q, RUN_FIELDS) };
}

/** Filters of GET /decisions, parsed as GET /api/v1/decisions parses them. */
export function decisionListQuery(query: unknown): ListQuery<DecisionFilter> {
  const q = nonEmpty(query);
  const decision = queryString(q, 'decision');
  if (decision !== undefined && decision !== 'run' && decision !== 'skip') throw new RemediatorError('BAD_REQUEST', 'decision must be run or skip');
  const filter: DecisionFilter = {
    ...queryFilters(q, ['runbook', 'fingerprint', 'alertname', 'reason'] as const),
    decision,
    since: queryTime(q, 'since'),
    until: queryTime(q, 'until'),
  };
  return { filter, page: queryPage(q), values: values(q, DECISION_FIELDS) };
}
