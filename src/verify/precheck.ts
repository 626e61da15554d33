/** The claim-time precheck: a runbook's PromQL that must return a non-empty result for the run to go on. */

import type { PrometheusClient } from './prometheus-client.js';
import { isEmpty, type QueryResult } from './query-result.js';

/** The outcome of a precheck, with the answer it was decided on (for the run record). */
export interface PrecheckOutcome {
  readonly met: boolean;
  readonly result: QueryResult;
}

/**
 * Runs the rendered precheck query: met when the result is non-empty (alert-rule semantics).
 * A failed query rejects with a PrometheusError; it is neither met nor unmet.
 */
export async function checkPrecheck(
  client: PrometheusClient,
  query: string,
  options: { readonly signal?: AbortSignal; readonly timeoutMs?: number } = {},
): Promise<PrecheckOutcome> {
  const result = await client.query(query, options);
  return { met: !isEmpty(result), result };
}
