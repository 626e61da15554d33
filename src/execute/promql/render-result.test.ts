import { describe, it, expect } from '@jest/globals';
import type { MatrixSeries, QueryResult } from '../../verify/query-result.js';
import { boundedEvidence, renderResult, MAX_EVIDENCE_VALUES } from './render-result.js';

const matrix = (points: number): QueryResult => ({
  resultType: 'matrix',
  result: [{ metric: { __name__: 'm', a: 'x' }, values: Array.from({ length: points }, (_, i) => ({ timestamp: i, value: String(i) })) }],
  warnings: [],
});

describe('boundedEvidence', () => {
  it('keeps the latest values of a long matrix series and says it cut them', () => {
    const evidence = boundedEvidence('m[1h]', matrix(MAX_EVIDENCE_VALUES + 50));
    expect(evidence.truncated).toBe(true);
    const [series] = evidence.result as readonly MatrixSeries[];
    expect(series?.values).toHaveLength(MAX_EVIDENCE_VALUES);
    expect(series?.values[0]?.value).toBe('50');
  });

  it('keeps a scalar whole as one series', () => {
    expect(boundedEvidence('1', { resultType: 'scalar', result: { timestamp: 1, value: '1' }, warnings: [] })).toMatchObject({ seriesCount: 1, truncated: false });
  });
});

describe('renderResult', () => {
  it.each<[string, QueryResult, string]>([
    ['a scalar', { resultType: 'scalar', result: { timestamp: 1, value: 'NaN' }, warnings: [] }, 'scalar NaN\n'],
    ['a string', { resultType: 'string', result: { timestamp: 1, value: 'hi' }, warnings: [] }, 'string hi\n'],
    ['a matrix', matrix(2), 'm{a="x"} 0 @0, 1 @1\n'],
    ['an empty matrix', { resultType: 'matrix', result: [], warnings: [] }, 'empty matrix: no series matched\n'],
    ['a vector with an escaped label', { resultType: 'vector', result: [{ metric: { q: 'a"b' }, timestamp: 1, value: '2' }], warnings: [] }, '{q="a\\"b"} 2\n'],
  ])('renders %s compactly', (_what, answer, text) => {
    expect(renderResult(answer, 1000)).toEqual({ text, truncated: false });
  });
});
