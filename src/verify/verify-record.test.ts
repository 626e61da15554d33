import { describe, it, expect } from '@jest/globals';
import type { TierRecord } from '../core/run.js';
import type { VerificationRecord } from '../core/verification.js';
import { MAX_SUMMARY_BYTES, seenFiringInRun, summarize, summarizeError } from './verify-record.js';

function tier(verify: unknown): TierRecord {
  // Records as a store might hold them, including shapes no verifier writes, to show the reader tolerates them.
  return { name: 't', state: 'failed', steps: [], verify: verify as VerificationRecord | null, verified: false, startedAt: null, endedAt: null };
}

describe('seenFiringInRun', () => {
  it.each<[string, unknown[], number, number | null]>([
    ['no earlier tier', [], 0, null],
    ['an earlier tier that saw it', [{ seenFiringAt: '2024-01-01T00:00:05.000Z' }], 1, Date.parse('2024-01-01T00:00:05.000Z')],
    ['the earliest of two', [{ seenFiringAt: '2024-01-01T00:00:09.000Z' }, { seenFiringAt: '2024-01-01T00:00:03.000Z' }], 2, Date.parse('2024-01-01T00:00:03.000Z')],
    ['only the tier being verified, which does not count', [{ seenFiringAt: '2024-01-01T00:00:05.000Z' }], 0, null],
    ['a record that never saw it', [{ seenFiringAt: null }], 1, null],
    ['a record that is not an object', ['verified', null], 2, null],
    ['a time that does not parse', [{ seenFiringAt: 'soon' }], 1, null],
  ])('answers for %s', (_what, records, tierIndex, expected) => {
    expect(seenFiringInRun({ tiers: records.map(tier) }, tierIndex)).toBe(expected);
  });
});

describe('summarize', () => {
  it('keeps the series count and cuts the text of a large answer', () => {
    const result = Array.from({ length: 500 }, (_, i) => ({ metric: { __name__: 'up', instance: `host-${i}:9100` }, timestamp: 1, value: '1' }));
    const s = summarize(0, { resultType: 'vector', result, warnings: [] });
    expect(s).toMatchObject({ at: '1970-01-01T00:00:00.000Z', resultType: 'vector', series: 500, truncated: true });
    expect('text' in s && Buffer.byteLength(s.text)).toBeLessThanOrEqual(MAX_SUMMARY_BYTES);
  });

  it('counts a scalar as one series', () => {
    expect(summarize(0, { resultType: 'scalar', result: { timestamp: 1, value: '2' }, warnings: [] })).toMatchObject({ series: 1, text: 'scalar 2\n' });
  });

  it('cuts a long error message', () => {
    const s = summarizeError(0, 'x'.repeat(10_000));
    expect('error' in s && s.error.length).toBe(MAX_SUMMARY_BYTES);
  });
});
