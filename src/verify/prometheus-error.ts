/** The one error a Prometheus query fails with, whatever went wrong. */

/**
 * What went wrong: Prometheus refused the query text (`bad_data`), could not evaluate it
 * (`execution`), gave up or was not answered in time (`timeout`), the caller aborted it
 * (`canceled`), could not be reached or said it is unavailable (`unavailable`), answered
 * another HTTP error (`http`), or answered something that is not its API (`invalid_response`).
 */
export type PrometheusErrorKind = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'unavailable' | 'http' | 'invalid_response';

/** A failed query; never a result, so no caller can mistake it for an empty or a non-empty answer. */
export class PrometheusError extends Error {
  readonly kind: PrometheusErrorKind;
  /** The HTTP status, when an answer came. */
  readonly status: number | null;
  /** Prometheus' own `errorType` and `error` text, when its error envelope came. */
  readonly errorType: string | null;
  readonly error: string | null;

  constructor(
    kind: PrometheusErrorKind,
    message: string,
    details: { status?: number | null; errorType?: string | null; error?: string | null; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'PrometheusError';
    this.kind = kind;
    this.status = details.status ?? null;
    this.errorType = details.errorType ?? null;
    this.error = details.error ?? null;
  }
}

/** The error for Prometheus' error envelope `{status:"error", errorType, error}` answered with `status`. */
export function envelopeError(status: number, errorType: string, error: string): PrometheusError {
  const details = { status, errorType, error };
  switch (errorType) {
    case 'bad_data':
      return new PrometheusError('bad_data', `Prometheus rejected the query (bad_data): ${error}`, details);
    case 'execution':
      return new PrometheusError('execution', `Prometheus could not evaluate the query (execution): ${error}`, details);
    case 'timeout':
    case 'canceled':
      return new PrometheusError('timeout', `Prometheus gave up on the query (${errorType}): ${error}`, details);
    case 'unavailable':
      return new PrometheusError('unavailable', `Prometheus is unavailable (unavailable): ${error}`, details);
    default:
      return new PrometheusError('http', `Prometheus answered HTTP ${status} (${errorType}): ${error}`, details);
  }
}
