/** Compact text and bounded evidence for a query result, as a promql step records them. */

import type { MatrixSeries, QueryResult, SamplePoint, VectorSample } from '../../verify/query-result.js';

/** At most this many series are kept as evidence. */
export const MAX_EVIDENCE_SERIES = 100;
/** At most this many (latest) values of each matrix series are kept as evidence. */
export const MAX_EVIDENCE_VALUES = 100;

/** What a promql step keeps of its answer. */
export interface PromqlEvidence {
  readonly query: string;
  readonly resultType: QueryResult['resultType'];
  /** Series in the answer (1 for a scalar or string). */
  readonly seriesCount: number;
  /** True when some series or values were left out of `result`. */
  readonly truncated: boolean;
  readonly result: readonly VectorSample[] | readonly MatrixSeries[] | SamplePoint;
  readonly warnings: readonly string[];
}

/** Keeps the first series (and, of a matrix, the latest values) of a result. */
export function boundedEvidence(query: string, answer: QueryResult): PromqlEvidence {
  const base = { query, resultType: answer.resultType, warnings: answer.warnings };
  if (answer.resultType === 'scalar' || answer.resultType === 'string') {
    return { ...base, seriesCount: 1, truncated: false, result: answer.result };
  }
  const seriesCount = answer.result.length;
  if (answer.resultType === 'vector') {
    return { ...base, seriesCount, truncated: seriesCount > MAX_EVIDENCE_SERIES, result: answer.result.slice(0, MAX_EVIDENCE_SERIES) };
  }
  const kept = answer.result.slice(0, MAX_EVIDENCE_SERIES);
  const cut = seriesCount > MAX_EVIDENCE_SERIES || kept.some((s) => s.values.length > MAX_EVIDENCE_VALUES);
  return { ...base, seriesCount, truncated: cut, result: kept.map((s) => ({ metric: s.metric, values: s.values.slice(-MAX_EVIDENCE_VALUES) })) };
}

/** One line per series, `name{label="value", ...} value`, stopped once `maxBytes` are filled. */
export function renderResult(answer: QueryResult, maxBytes: number): { text: string; truncated: boolean } {
  const lines = resultLines(answer);
  let text = '';
  for (const line of lines) {
    const next = `${text}${line}\n`;
    if (Buffer.byteLength(next) > maxBytes) {
      return { text: Buffer.from(next).subarray(0, maxBytes).toString('utf8'), truncated: true };
    }
    text = next;
  }
  return { text, truncated: false };
}

function* resultLines(answer: QueryResult): Generator<string> {
  switch (answer.resultType) {
    case 'scalar':
    case 'string':
      yield `${answer.resultType} ${answer.result.value}`;
      return;
    case 'vector':
      if (answer.result.length === 0) yield 'empty vector: no series matched';
      for (const s of answer.result) yield `${seriesName(s.metric)} ${s.value}`;
      return;
    case 'matrix':
      if (answer.result.length === 0) yield 'empty matrix: no series matched';
      for (const s of answer.result) yield `${seriesName(s.metric)} ${s.values.map((p) => `${p.value} @${p.timestamp}`).join(', ')}`;
  }
}

function seriesName(metric: Readonly<Record<string, string>>): string {
  const name = metric.__name__ ?? '';
  const pairs = Object.entries(metric)
    .filter(([k]) => k !== '__name__')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${name}{${pairs.join(', ')}}`;
}
