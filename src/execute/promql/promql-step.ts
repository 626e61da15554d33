/** The `promql` step: an instant query that succeeds when it returns a non-empty result. */

import { notRunResult } from '../local-runner.js';
import type { StepResult, StopCause } from '../../core/run.js';
import { toError } from '../../core/errors.js';
import { stopCauseOf } from '../command-runner.js';
import type { PrometheusClient } from '../../verify/prometheus-client.js';
import { PrometheusError } from '../../verify/prometheus-error.js';
import { isEmpty } from '../../verify/query-result.js';
import { boundedEvidence, renderResult } from './render-result.js';

/** What a promql step needs besides its query. */
export interface PromqlStepOptions {
  /** Null when no `prometheus.url` is configured: the step then fails as PROMETHEUS_NOT_CONFIGURED. */
  readonly client: PrometheusClient | null;
  readonly timeoutMs: number;
  /** Aborting it abandons the query; its reason is the StopCause. */
  readonly signal: AbortSignal;
  /** Cap of the rendered result kept as stdout. */
  readonly maxOutputBytes: number;
}

/**
 * Runs one attempt of a promql step. Success is a non-empty result (alert-rule semantics);
 * an empty one fails the step; a query that errors fails it with PROMQL_ERROR, never as
 * success.
 */
export async function runPromqlStep(query: string, options: PromqlStepOptions): Promise<StepResult> {
  const startedAt = Date.now();
  if (options.client === null) {
    return failed(startedAt, { code: 'PROMETHEUS_NOT_CONFIGURED', message: 'a promql step needs prometheus.url in the configuration' });
  }
  if (options.signal.aborted) return failed(startedAt, null, stopCauseOf(options.signal));
  try {
    const answer = await options.client.query(query, { signal: options.signal, timeoutMs: options.timeoutMs });
    const rendered = renderResult(answer, options.maxOutputBytes);
    return {
      ...failed(startedAt, null),
      ok: !isEmpty(answer),
      stdout: rendered.text,
      stdoutTruncated: rendered.truncated,
      evidence: boundedEvidence(query, answer),
      host: options.client.url,
    };
  } catch (thrown) {
    const err = toError(thrown);
    if (options.signal.aborted) return failed(startedAt, null, stopCauseOf(options.signal));
    if (!(err instanceof PrometheusError)) throw err;
    const stoppedBy: StopCause | null = err.kind === 'timeout' ? 'timeout' : null;
    return { ...failed(startedAt, { code: 'PROMQL_ERROR', message: err.message }, stoppedBy), host: options.client.url };
  }
}

function failed(startedAt: number, error: StepResult['error'], stoppedBy: StopCause | null = null): StepResult {
  return { ...notRunResult(startedAt, error, stoppedBy), timedOut: stoppedBy === 'timeout' };
}
