/** What every part of reporting shares: the integrations, the retry policy, the clock and the error hook. */

import type { Clock } from '../core/clock.js';
import { toError } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import type { AlertmanagerClient } from './alertmanager-client.js';
import type { GrafanaClient } from './grafana-client.js';
import type { RetryPolicy } from './with-retries.js';

/** What failed, as passed to onReportError (a bounded metric label). */
export type ReportErrorKind = 'annotation' | 'silence' | 'alert' | 'escalation' | 'store';

/** All the kinds, to initialise a counter's labels to zero. */
export const REPORT_ERROR_KINDS: readonly ReportErrorKind[] = ['annotation', 'silence', 'alert', 'escalation', 'store'];

export interface ReportContext {
  readonly publicURL: string;
  readonly alertmanager: AlertmanagerClient | null;
  readonly grafana: GrafanaClient | null;
  readonly logger: Logger;
  readonly retry: RetryPolicy;
  readonly clock: Clock;
  /** Called once per failed reporting operation (after its retries). */
  readonly onReportError: (kind: ReportErrorKind) => void;
}

/** Logs and counts a failed reporting operation; returns the message to record in the run. */
export function reportFailure(ctx: ReportContext, kind: ReportErrorKind, thrown: unknown, fields: Record<string, unknown>): string {
  const err = toError(thrown);
  ctx.logger.warn({ ...fields, err, kind }, 'reporting failed');
  try {
    ctx.onReportError(kind);
  } catch (hookError) {
    ctx.logger.error({ err: toError(hookError) }, 'onReportError threw');
  }
  return err.message;
}

/** Epoch ms as RFC 3339. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** RFC 3339 text as epoch ms, or null when absent or unreadable. */
export function msOf(text: string | null | undefined): number | null {
  if (text === null || text === undefined) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}
