/** Refused requests, counted each and logged at most once per code per window, so a flood of 401s cannot flood the log. */

import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { HTTP_REFUSAL_CODES } from '../observability/metrics.js';

/** Counts and logs refusals. */
export interface RefusalLog {
  /** A request answered 4xx with this code. */
  refused(code: string, fields: Readonly<Record<string, unknown>>, message: string): void;
  /** A connection dropped because limits.maxConnections were open. */
  dropped(): void;
}

const COUNTED: ReadonlySet<string> = new Set(HTTP_REFUSAL_CODES);

/** A refusal log whose warnings for one code are at most one per windowMs, each saying how many were left out before it. */
export function createRefusalLog(logger: Logger, metrics: Metrics, options: { windowMs?: number; now?: () => number } = {}): RefusalLog {
  const windowMs = options.windowMs ?? 10_000;
  const now = options.now ?? Date.now;
  const last = new Map<string, { at: number; suppressed: number }>();
  const warn = (code: string, fields: Readonly<Record<string, unknown>>, message: string): void => {
    if (COUNTED.has(code)) metrics.httpRefusals.inc({ code });
    const t = now();
    const seen = last.get(code);
    if (seen !== undefined && t - seen.at < windowMs) {
      seen.suppressed += 1;
      return;
    }
    last.set(code, { at: t, suppressed: 0 });
    logger.warn({ ...fields, code, suppressed: seen?.suppressed ?? 0, windowMs }, message);
  };
  return {
    refused: (code, fields, message) => warn(code, fields, message),
    dropped: () => warn('MAX_CONNECTIONS', {}, 'connection dropped: limits.maxConnections are open'),
  };
}
