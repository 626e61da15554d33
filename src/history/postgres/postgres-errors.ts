/** Turns node-postgres errors into catalog errors at the store's boundary, and says which ones a transaction retries. */

import { RemediatorError, toError } from '../../core/errors.js';

/**
 * A conditional write inside a transaction found the row changed under it (another replica committed first): the
 * transaction is rerun on fresh data, and only if every rerun misses too does the caller see it, as a CONFLICT.
 */
export class StaleRowError extends RemediatorError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

// Another transaction got there first (a deadlock victim, a lock wait cut short, a row another replica inserted):
// rerunning the whole transaction sees that commit and decides again.
const RETRY_CODES = new Set(['40P01', '40001', '55P03', '23505']);

// The socket, the server or its resources failed: nothing is wrong with the request, so the caller may try again (503).
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// 08: connection exceptions; 28: the server refused our credentials; 3D000: the database is gone; 53: out of disk,
// memory or connections; 57P0x: the server shut down or is starting; 57014: statement_timeout; 25P03:
// idle_in_transaction_session_timeout ended the session.
const UNAVAILABLE_SQLSTATE = /^(08|28|53|57P0|57014$|25P03$|3D000$)/;
// What node-postgres and pg-pool throw, without a code, when the connection is gone or never came.
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'connection timeout',
  'is not queryable',
  'Cannot use a pool after calling end',
  'Client was closed',
];

function codeOf(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

/** true when the whole transaction should run again: a deadlock, a serialization or lock-wait failure, a unique race, a stale row. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof StaleRowError) return true;
  const code = codeOf(err);
  return code !== null && RETRY_CODES.has(code);
}

/** true when the error says the database could not be reached or could not answer, rather than refusing the request. */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof RemediatorError) return err.code === 'STORE_UNAVAILABLE';
  const code = codeOf(err);
  if (code !== null && (UNAVAILABLE_ERRNOS.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
  const message = toError(err).message;
  return UNAVAILABLE_MESSAGES.some((m) => message.includes(m));
}

/** Maps a thrown value to what the store rethrows: catalog errors pass, outages become STORE_UNAVAILABLE, unique clashes CONFLICT. */
export function storeError(thrown: unknown, doing: string): Error {
  if (thrown instanceof RemediatorError) return thrown;
  const code = codeOf(thrown);
  if (isUnavailable(thrown)) {
    return new RemediatorError('STORE_UNAVAILABLE', `PostgreSQL store could not ${doing}: ${code ?? toError(thrown).message}`, { cause: thrown });
  }
  if (code === '23505') return new RemediatorError('CONFLICT', conflictMessage(thrown), { cause: thrown });
  if (code === '40P01' || code === '40001' || code === '55P03') {
    return new RemediatorError('STORE_UNAVAILABLE', `PostgreSQL store could not ${doing}: contention did not clear (${code})`, { cause: thrown });
  }
  return toError(thrown);
}

function conflictMessage(err: unknown): string {
  const constraint = (err as { constraint?: unknown }).constraint;
  if (constraint === 'runs_target_held') return 'another run already holds the target';
  if (constraint === 'runs_episode') return 'a run already holds this episode (runbook, fingerprint, startsAt)';
  return `the store refused a duplicate: ${toError(err).message}`;
}
