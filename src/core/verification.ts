/** What a tier's verification records in the run (SPEC §8 `verify`), typed from the verifier to the store and the pages. */

/** How a verification ended; `running` only in a record written while it polls. */
export type VerifyOutcome = 'running' | 'verified' | 'timed_out' | 'alert_not_found' | 'error' | 'canceled';

/** The last check's answer, kept small: the series count and their text, cut at MAX_SUMMARY_BYTES; or the error. */
export type CheckSummary =
  | { readonly at: string; readonly resultType: 'vector' | 'matrix' | 'scalar' | 'string'; readonly series: number; readonly text: string; readonly truncated: boolean }
  | { readonly at: string; readonly error: string };

/** One check, as the run page's timeline marks it: when it was made, and whether success held, did not, or the query failed. */
export interface CheckMark {
  readonly at: string;
  readonly result: 'held' | 'not_held' | 'error';
}

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
  /** The last checks (at most MAX_RECENT_CHECKS, oldest first) made by the process that ended it; absent in older records. */
  readonly recentChecks?: readonly CheckMark[];
}

/** Written before the first check, so a reclaimed run resumes the verification with what is left of `within`. */
export interface VerifyStart {
  readonly kind: 'promql' | 'alertResolved';
  readonly outcome: 'running';
  readonly startedAt: string;
}

/** What the store keeps for a tier's verification: its start, or the record as it stands. */
export type VerificationRecord = VerifyRecord | VerifyStart;

/** true for a full record (not only the start written before polling). */
export function isFullRecord(record: VerificationRecord | null | undefined): record is VerifyRecord {
  return record !== null && record !== undefined && 'checks' in record;
}
