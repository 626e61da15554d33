/** Turns SQLite errors into catalog errors at the store's boundary. */

import { RemediatorError, toError } from '../../core/errors.js';

// Errors of the disk, the file or the lock: the store cannot answer now, so the caller may retry (503).
const UNAVAILABLE_PREFIXES = ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_NOMEM', 'SQLITE_PROTOCOL'];

/** The SQLite result code of an error, or null when it did not come from SQLite. */
export function sqliteCode(err: unknown): string | null {
  // By name, not instanceof: the addon keeps the SqliteError class of the first realm that loaded it (jest's vm contexts).
  const e = err as { name?: unknown; code?: unknown } | null;
  return typeof e === 'object' && e !== null && e.name === 'SqliteError' && typeof e.code === 'string' ? e.code : null;
}

/** true for SQLITE_BUSY and SQLITE_LOCKED and their extended codes: someone else holds the file. */
export function isLockError(err: unknown): boolean {
  const code = sqliteCode(err);
  return code !== null && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** Maps a thrown value to what the store rethrows: catalog errors pass, storage failures become STORE_UNAVAILABLE. */
export function storeError(thrown: unknown, doing: string): Error {
  if (thrown instanceof RemediatorError) return thrown;
  const code = sqliteCode(thrown);
  if (code !== null && UNAVAILABLE_PREFIXES.some((p) => code.startsWith(p))) {
    return new RemediatorError('STORE_UNAVAILABLE', `SQLite store could not ${doing}: ${code}`, { cause: thrown });
  }
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new RemediatorError('CONFLICT', conflictMessage(toError(thrown).message), { cause: thrown });
  }
  return toError(thrown);
}

function conflictMessage(sqliteMessage: string): string {
  if (sqliteMessage.includes('runs.target')) return 'another run already holds the target';
  if (sqliteMessage.includes('runs.runbook')) return 'a run already holds this episode (runbook, fingerprint, startsAt)';
  return `the store refused a duplicate: ${sqliteMessage}`;
}
