/** What a tier's verification records in the run (SPEC §8 `verify`): the query, the checks made, the last answer, the outcome. */

import type { RunDetail } from '../core/run.js';
import type { CheckSummary } from '../core/verification.js';
import { renderResult } from '../execute/promql/render-result.js';
import type { QueryResult } from './query-result.js';

export type { CheckMark, CheckSummary, VerifyOutcome, VerifyRecord } from '../core/verification.js';

/** At most this many bytes of result text are kept per record. */
export const MAX_SUMMARY_BYTES = 2048;

/** At most this many checks are kept one by one (the newest), for the run page's timeline; `checks` counts them all. */
export const MAX_RECENT_CHECKS = 120;

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
    const v = tier.verify;
    if (i >= tierIndex || typeof v !== 'object' || v === null || !('seenFiringAt' in v)) return;
    const seen: unknown = v.seenFiringAt;
    const ms = typeof seen === 'string' ? Date.parse(seen) : NaN;
    if (!Number.isNaN(ms) && (earliest === null || ms < earliest)) earliest = ms;
  });
  return earliest;
}
