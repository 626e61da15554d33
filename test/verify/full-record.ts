/** A complete verification record for tests, with the fields a test cares about given. */

import type { VerifyRecord } from '../../src/core/verification.js';

/** A finished promql record; override what the test is about. */
export function fullRecord(over: Partial<VerifyRecord> = {}): VerifyRecord {
  return {
    kind: 'promql',
    query: 'up == 1',
    everyMs: 1000,
    withinMs: 60_000,
    stableForMs: 0,
    checks: 1,
    errors: 0,
    lastResult: null,
    error: null,
    outcome: 'verified',
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:00:01.000Z',
    holdingSince: null,
    ...over,
  };
}
