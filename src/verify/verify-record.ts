/** What a tier's verification records in the run (SPEC §8 `verify`): the query, the checks made, the last answer, the outcome. */

import type { RunDetail } from '../core/run.js';
import { renderResult } from '../execute/promql/render-result.js';
import type { QueryResult } from './query-result.js';

/** How a verification ended; `running` only in a record written while it polls. */
export type VerifyOutcome = 'running' | 'verified' | 'timed_out' | 'alert_not_found' | 'error' | 'canceled';

/** The last check's answer, kept small: the series count and their text, cut at MAX_SUMMARY_BYTES; or the error. */
export type CheckSummary =
  | { readonly at: string; readonly resultType: QueryResult['resultType']; readonly series: number; readonly text: string; readonly truncated: boolean }
  | { readonly at: string; readonly error: string };

/** One tier's verification as the run keeps it. */
export interface VerifyRecord {
  readonly kind: 'promql' | 'alertResolved';
  /** The PromQL sent (for alertResolved, the ALERTS selector; the alert's other labels are compared in code). */
  readonly query: string;
  readonly everyMs: number;
  readonly withinMs: number;
  readonly stableForMs: number;
  readonly checks: number;
  /** Checks whose query failed (never counted as success). */
  readonly errors: number;
  readonly lastResult: CheckSummary | null;
  /** Why the verification could not answer: the last query error, or "prometheus.url is not configured". */
  readonly error: string | null;
  readonly outcome: VerifyOutcome;
  readonly startedAt: string;
  readonly endedAt: string | null;
  /** Since when success has held without a break, while it does. */
  readonly holdingSince: string | null;
  /** alertResolved: when the alert's series was first seen firing during the run. */
  readonly seenFiringAt?: string | null;
}

/** At most this many bytes of result text are kept per record. */
export const MAX_SUMMARY_BYTES = 2048;

/** The bounded summary of an answer. */
export function summarize(at: number, result: QueryResult): CheckSummary {
  const rendered = renderResult(result, MAX_SUMMARY_BYTES);
  const series = result.resultType === 'vector' || result.resultType === 'matrix' ? result.result.length : 1;
  return { at: new Date(at).toISOString(), resultType: result.resultType, series, text: rendered.text, truncated: rendered.truncated };
}

/** The summary of a failed check. */
export function summarizeError(at: number, message: string): CheckSummary {
  return { at: new Date(at).toISOString(), error: message.slice(0, MAX_SUMMARY_BYTES) };
}

/**
 * The earliest time an earlier verification of this run saw the alert firing, from the run's
 * records: SPEC §4 asks for the series seen firing during the run, and a tier that saw it
 * firing before handing over to the next one saw it during the run.
 */
export function seenFiringInRun(run: Pick<RunDetail, 'tiers'>, tierIndex: number): number | null {
  let earliest: number | null = null;
  run.tiers.forEach((tier, i) => {
    if (i >= tierIndex || typeof tier.verify !== 'object' || tier.verify === null) return;
    const seen: unknown = (tier.verify as Record<string, unknown>).seenFiringAt;
    const ms = typeof seen === 'string' ? Date.parse(seen) : NaN;
    if (!Number.isNaN(ms) && (earliest === null || ms < earliest)) earliest = ms;
  });
  return earliest;
}
