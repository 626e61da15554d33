/** A Prometheus HTTP API client for instant queries, every call bounded by a deadline. */

import { toError } from '../core/errors.js';
import { envelopeError, PrometheusError } from './prometheus-error.js';
import { MalformedResultError, parseQueryData, type QueryResult } from './query-result.js';

/** Options of one query. */
export interface QueryOptions {
  /** Aborting it abandons the query (a PrometheusError of kind `canceled`). */
  readonly signal?: AbortSignal;
  /** Overrides the client's deadline for this query. */
  readonly timeoutMs?: number;
}

/** Runs instant queries against one Prometheus. */
export interface PrometheusClient {
  /** The base URL, for messages and records. */
  readonly url: string;
  /** Runs an instant query at the server's now; rejects with a PrometheusError, never with an empty result. */
  query(promql: string, options?: QueryOptions): Promise<QueryResult>;
}

/** Settings of createPrometheusClient. */
export interface PrometheusClientOptions {
  /** Base URL, e.g. http://127.0.0.1:9090 (a path prefix is kept). */
  readonly url: string;
  /** Deadline of each query unless the call gives its own; default 10 s. */
  readonly timeoutMs?: number;
  /** Answers longer than this are refused as invalid_response; default 16 MiB. */
  readonly maxBodyBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Builds a client; it opens nothing until the first query. */
export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const base = options.url.endsWith('/') ? options.url : `${options.url}/`;
  const endpoint = new URL('api/v1/query', base);
  const url = options.url.replace(/\/+$/, '');
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return {
    url,
    query: (promql, call = {}) =>
      instantQuery({ endpoint, url, promql, timeoutMs: call.timeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: call.signal, maxBodyBytes }),
  };
}

interface QueryCall {
  readonly endpoint: URL;
  readonly url: string;
  readonly promql: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly maxBodyBytes: number;
}

async function instantQuery(call: QueryCall): Promise<QueryResult> {
  const deadline = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal ? AbortSignal.any([call.signal, deadline]) : deadline;
  // Prometheus stops evaluating at its own `timeout` too, so a slow query does not go on after we left.
  const form = new URLSearchParams({ query: call.promql, timeout: String(call.timeoutMs / 1000) });
  let status: number;
  let contentType: string;
  let body: string;
  try {
    const response = await fetch(call.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal,
      // A redirected POST would lose its form; a 3xx is reported as the HTTP answer it is.
      redirect: 'manual',
    });
    status = response.status;
    contentType = response.headers.get('content-type') ?? 'no content-type';
    body = await readBounded(response, call.maxBodyBytes);
  } catch (thrown) {
    throw transportError(thrown, call, deadline);
  }
  return interpret(status, contentType, body, call.url);
}

function transportError(thrown: unknown, call: QueryCall, deadline: AbortSignal): PrometheusError {
  if (thrown instanceof PrometheusError) return thrown;
  const err = toError(thrown);
  if (call.signal?.aborted) return new PrometheusError('canceled', `the query to Prometheus at ${call.url} was canceled`, { cause: err });
  if (deadline.aborted) {
    return new PrometheusError('timeout', `Prometheus at ${call.url} did not answer within ${call.timeoutMs} ms`, { cause: err });
  }
  // fetch reports "fetch failed" and keeps the socket error (ECONNREFUSED, ENOTFOUND...) as its cause.
  const reason = err.cause === undefined ? err.message : toError(err.cause).message;
  return new PrometheusError('unavailable', `Prometheus at ${call.url} is unavailable: ${reason}`, { cause: err });
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      await response.body.cancel().catch(() => undefined);
      throw new PrometheusError('invalid_response', `Prometheus answered more than ${maxBytes} bytes`, { status: response.status });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function interpret(status: number, contentType: string, body: string, url: string): QueryResult {
  const envelope = parseEnvelope(body);
  const ok = status >= 200 && status < 300;
  if (envelope === null) {
    const excerpt = body.slice(0, 200).trim();
    if (!ok) return fail(new PrometheusError('http', `Prometheus at ${url} answered HTTP ${status} (${contentType}): ${excerpt}`, { status }));
    return fail(new PrometheusError('invalid_response', `Prometheus at ${url} sent an answer that is not its API's JSON (HTTP ${status}, ${contentType}): ${excerpt}`, { status }));
  }
  if (envelope.status === 'error' || !ok) {
    const errorType = typeof envelope.errorType === 'string' ? envelope.errorType : `HTTP ${status}`;
    const error = typeof envelope.error === 'string' ? envelope.error : JSON.stringify(envelope).slice(0, 200);
    return fail(envelopeError(status, errorType, error));
  }
  if (envelope.status !== 'success') {
    return fail(new PrometheusError('invalid_response', `Prometheus at ${url} answered status ${JSON.stringify(envelope.status)}`, { status }));
  }
  try {
    return parseQueryData(envelope.data, envelope.warnings);
  } catch (thrown) {
    const err = toError(thrown);
    if (!(err instanceof MalformedResultError)) throw err;
    return fail(new PrometheusError('invalid_response', `Prometheus at ${url} sent a malformed result: ${err.message}`, { status, cause: err }));
  }
}

function fail(error: PrometheusError): never {
  throw error;
}

function parseEnvelope(body: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value) && 'status' in value ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
