/** The one error an Alertmanager or Grafana call fails with, whatever went wrong. */

/** The service a reporting call went to. */
export type Integration = 'alertmanager' | 'grafana';

/**
 * What went wrong: no answer within the deadline (`timeout`), the caller gave up (`canceled`), the
 * service could not be reached (`unavailable`), it answered an HTTP error (`http`), or it answered
 * something that is not its API (`invalid_response`).
 */
export type IntegrationErrorKind = 'timeout' | 'canceled' | 'unavailable' | 'http' | 'invalid_response';

/** A failed call to Alertmanager or Grafana, with the HTTP status and body when an answer came. */
export class IntegrationError extends Error {
  readonly integration: Integration;
  readonly kind: IntegrationErrorKind;
  readonly status: number | null;
  /** The answer's body (at most 1 KiB of it), when one came. */
  readonly body: string | null;

  constructor(
    integration: Integration,
    kind: IntegrationErrorKind,
    message: string,
    details: { status?: number | null; body?: string | null; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'IntegrationError';
    this.integration = integration;
    this.kind = kind;
    this.status = details.status ?? null;
    this.body = details.body ?? null;
  }

  /** True when trying again may help: no answer, a 5xx, or 429. A 4xx other than 429 will not change. */
  get retryable(): boolean {
    if (this.kind === 'timeout' || this.kind === 'unavailable') return true;
    if (this.kind !== 'http' || this.status === null) return false;
    return this.status >= 500 || this.status === 429;
  }
}
