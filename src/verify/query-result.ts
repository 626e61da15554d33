/** The typed shape of a Prometheus instant-query answer, and its parsing from the API's JSON. */

/** One value as Prometheus sends it: unix seconds and the value as text (text because of NaN and ±Inf). */
export interface SamplePoint {
  readonly timestamp: number;
  readonly value: string;
}

/** One series of a vector; a native-histogram sample has `value` "histogram" and its buckets in `histogram`. */
export interface VectorSample extends SamplePoint {
  readonly metric: Readonly<Record<string, string>>;
  readonly histogram?: unknown;
}

/** One series of a matrix (a range selector queried as an instant query). */
export interface MatrixSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly values: readonly SamplePoint[];
}

/** A successful instant query, by result type. */
export type QueryResult =
  | { readonly resultType: 'vector'; readonly result: readonly VectorSample[]; readonly warnings: readonly string[] }
  | { readonly resultType: 'matrix'; readonly result: readonly MatrixSeries[]; readonly warnings: readonly string[] }
  | { readonly resultType: 'scalar'; readonly result: SamplePoint; readonly warnings: readonly string[] }
  | { readonly resultType: 'string'; readonly result: SamplePoint; readonly warnings: readonly string[] };

/**
 * True when the answer holds no series: an empty vector or matrix. A scalar or string is one
 * value, as an alerting rule would see it, so it is never empty.
 */
export function isEmpty(result: QueryResult): boolean {
  return (result.resultType === 'vector' || result.resultType === 'matrix') && result.result.length === 0;
}

/** The number a sample's text stands for, `+Inf`, `-Inf` and `NaN` included. */
export function sampleNumber(value: string): number {
  if (value === '+Inf') return Infinity;
  if (value === '-Inf') return -Infinity;
  return Number(value);
}

/** Thrown by parseQueryData when the `data` of a success envelope is not what the API documents. */
export class MalformedResultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedResultError';
  }
}

/** Parses `data` (and `warnings`) of a success envelope into a QueryResult. */
export function parseQueryData(data: unknown, warnings: unknown): QueryResult {
  if (!isRecord(data)) throw new MalformedResultError('"data" is not an object');
  const warns = Array.isArray(warnings) ? warnings.filter((w): w is string => typeof w === 'string') : [];
  const { resultType, result } = data;
  switch (resultType) {
    case 'vector':
      return { resultType, result: arrayOf(result, 'vector').map(vectorSample), warnings: warns };
    case 'matrix':
      return { resultType, result: arrayOf(result, 'matrix').map(matrixSeries), warnings: warns };
    case 'scalar':
    case 'string':
      return { resultType, result: point(result), warnings: warns };
    default:
      throw new MalformedResultError(`unknown resultType ${JSON.stringify(resultType)}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayOf(value: unknown, type: string): unknown[] {
  if (!Array.isArray(value)) throw new MalformedResultError(`a ${type} result is not an array`);
  return value;
}

function labels(value: unknown): Readonly<Record<string, string>> {
  if (!isRecord(value)) throw new MalformedResultError('a series has no "metric" object');
  // Null prototype: label names come from outside and must not reach Object.prototype.
  const out = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new MalformedResultError(`label ${k} is not a string`);
    out[k] = v;
  }
  return out;
}

function point(value: unknown): SamplePoint {
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'number' || typeof value[1] !== 'string') {
    throw new MalformedResultError(`a sample is not [timestamp, "value"]: ${JSON.stringify(value)?.slice(0, 100)}`);
  }
  return { timestamp: value[0], value: value[1] };
}

function vectorSample(value: unknown): VectorSample {
  if (!isRecord(value)) throw new MalformedResultError('a vector sample is not an object');
  const metric = labels(value.metric);
  if (value.value === undefined && value.histogram !== undefined) {
    const [timestamp] = Array.isArray(value.histogram) ? value.histogram : [];
    return { metric, timestamp: typeof timestamp === 'number' ? timestamp : 0, value: 'histogram', histogram: value.histogram };
  }
  return { metric, ...point(value.value) };
}

function matrixSeries(value: unknown): MatrixSeries {
  if (!isRecord(value)) throw new MalformedResultError('a matrix series is not an object');
  const values = value.values === undefined && value.histograms !== undefined ? [] : arrayOf(value.values, 'series');
  return { metric: labels(value.metric), values: values.map(point) };
}
