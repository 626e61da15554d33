import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createPrometheusClient, type PrometheusClient } from '../../src/verify/prometheus-client.js';
import { PrometheusError } from '../../src/verify/prometheus-error.js';
import { isEmpty, sampleNumber } from '../../src/verify/query-result.js';
import { stopAll } from '../support/child.js';
import { startExporter, type ExporterHandle } from '../support/exporter.js';
import { freePort } from '../support/free-port.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { waitFor } from '../support/wait-for.js';
import { startStandIn, type StandIn } from './stand-in-server.js';

/** The rejection of a query, which must be a PrometheusError. */
async function rejection(pending: Promise<unknown>): Promise<PrometheusError> {
  const outcome = await pending.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(PrometheusError);
  return outcome.error as PrometheusError;
}

/** Two series with the same (empty) match group on the right of a one-to-one operation: an execution error on 2.42. */
const MANY_TO_MANY = 'vector(1) + on() (label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", ""))';

describe('createPrometheusClient against a real Prometheus', () => {
  let exporter: ExporterHandle;
  let prom: PrometheusHandle;
  let client: PrometheusClient;

  beforeAll(async () => {
    exporter = await startExporter();
    exporter.set('test_gpu_memory_used_ratio', 0.95, { gpu: '0', model: 'llama' });
    prom = await startPrometheus({ scrapeTargets: [exporter.hostPort] });
    client = createPrometheusClient({ url: prom.url, timeoutMs: 5000 });
    await waitFor(async () => (isEmpty(await client.query('test_gpu_memory_used_ratio')) ? undefined : true), { description: 'the exporter scraped' });
  });

  afterAll(async () => {
    await prom?.stop();
    await exporter?.close();
    await stopAll();
  });

  it('parses a vector with its labels and value', async () => {
    const result = await client.query('test_gpu_memory_used_ratio > 0.9');
    expect(result.resultType).toBe('vector');
    if (result.resultType !== 'vector') return;
    expect(result.result).toHaveLength(1);
    expect(result.result[0]?.metric).toEqual({ __name__: 'test_gpu_memory_used_ratio', gpu: '0', model: 'llama', instance: exporter.hostPort, job: 'test' });
    expect(result.result[0]?.value).toBe('0.95');
    expect(result.result[0]?.timestamp).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(isEmpty(result)).toBe(false);
  });

  it('answers an empty vector, which isEmpty says is empty, for a series that does not exist', async () => {
    const result = await client.query('no_such_metric_anywhere');
    expect(result).toEqual({ resultType: 'vector', result: [], warnings: [] });
    expect(isEmpty(result)).toBe(true);
  });

  it.each([
    ['scalar', 'scalar(vector(2.5))', '2.5'],
    ['string', '"hello"', 'hello'],
  ])('parses a %s result, which is never empty', async (type, query, value) => {
    const result = await client.query(query);
    expect(result.resultType).toBe(type);
    expect(result.result).toMatchObject({ value });
    expect(isEmpty(result)).toBe(false);
  });

  it('parses a matrix when a range selector is queried, and keeps +Inf as text', async () => {
    const matrix = await client.query('test_gpu_memory_used_ratio[10s]');
    expect(matrix.resultType).toBe('matrix');
    if (matrix.resultType !== 'matrix') return;
    expect(matrix.result[0]?.values.length).toBeGreaterThan(0);
    expect(matrix.result[0]?.values[0]?.value).toBe('0.95');
    const inf = await client.query('vector(1) / 0');
    expect(inf.resultType === 'vector' && inf.result[0]?.value).toBe('+Inf');
    expect(sampleNumber('+Inf')).toBe(Infinity);
  });

  it('rejects a syntax error as bad_data with the parse error', async () => {
    const error = await rejection(client.query('sum(up'));
    expect(error).toMatchObject({ kind: 'bad_data', status: 400, errorType: 'bad_data' });
    expect(error.message).toMatch(/^Prometheus rejected the query \(bad_data\): .*parse error/);
  });

  it('rejects many-to-many matching as an execution error', async () => {
    const error = await rejection(client.query(MANY_TO_MANY));
    expect(error).toMatchObject({ kind: 'execution', status: 422, errorType: 'execution' });
    expect(error.message).toMatch(/^Prometheus could not evaluate the query \(execution\): found duplicate series for the match group/);
  });
});

describe('createPrometheusClient when Prometheus is not there or not itself', () => {
  const standIns: StandIn[] = [];
  afterAll(() => Promise.all(standIns.map((s) => s.close())));

  async function standIn(respond: Parameters<typeof startStandIn>[0]): Promise<StandIn> {
    const s = await startStandIn(respond);
    standIns.push(s);
    return s;
  }

  it('rejects as unavailable, naming the URL, when nothing listens on the port', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const error = await rejection(createPrometheusClient({ url }).query('up'));
    expect(error.kind).toBe('unavailable');
    expect(error.message).toBe(`Prometheus at ${url} is unavailable: connect ECONNREFUSED ${url.slice('http://'.length)}`);
  });

  it('rejects as timeout within the deadline when the server never answers, and sends the deadline as timeout', async () => {
    const hang = await standIn(() => undefined);
    const started = Date.now();
    const error = await rejection(createPrometheusClient({ url: hang.url, timeoutMs: 300 }).query('up'));
    expect(error.kind).toBe('timeout');
    expect(error.message).toBe(`Prometheus at ${hang.url} did not answer within 300 ms`);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(new URLSearchParams(hang.requests[0]?.body).get('timeout')).toBe('0.3');
    expect(new URLSearchParams(hang.requests[0]?.body).get('query')).toBe('up');
  });

  it('rejects as canceled when the caller aborts, before the deadline', async () => {
    const hang = await standIn(() => undefined);
    const abort = new AbortController();
    setTimeout(() => abort.abort('canceled'), 100);
    const started = Date.now();
    const error = await rejection(createPrometheusClient({ url: hang.url, timeoutMs: 10_000 }).query('up', { signal: abort.signal }));
    expect(error.kind).toBe('canceled');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it.each([
    ['an HTML page with 200', 200, 'text/html', '<html>login</html>', 'invalid_response', /not its API's JSON \(HTTP 200, text\/html\): <html>login<\/html>/],
    ['a bare 502 from a proxy', 502, 'text/plain', 'Bad Gateway', 'http', /answered HTTP 502 \(text\/plain\): Bad Gateway/],
    ['JSON that is not the envelope', 200, 'application/json', '{"status":"success","data":{"resultType":"vector","result":"nope"}}', 'invalid_response', /malformed result: a vector result is not an array/],
    ['an unknown status', 200, 'application/json', '{"status":"maybe"}', 'invalid_response', /answered status "maybe"/],
    ['an internal error envelope', 500, 'application/json', '{"status":"error","errorType":"internal","error":"disk full"}', 'http', /answered HTTP 500 \(internal\): disk full/],
  ])('rejects %s, never as a result', async (_what, status, type, body, kind, message) => {
    const s = await standIn((_b, res) => res.writeHead(status, { 'content-type': type }).end(body));
    const error = await rejection(createPrometheusClient({ url: s.url }).query('up'));
    expect(error.kind).toBe(kind);
    expect(error.status).toBe(status);
    expect(error.message).toMatch(message);
  });

  it('keeps a path prefix of the base URL and refuses an answer over the size limit', async () => {
    const big = await standIn((_b, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(' '.repeat(5000)));
    const error = await rejection(createPrometheusClient({ url: `${big.url}/prom/`, maxBodyBytes: 1000 }).query('up'));
    expect(big.requests[0]?.path).toBe('/prom/api/v1/query');
    expect(error).toMatchObject({ kind: 'invalid_response', message: 'Prometheus answered more than 1000 bytes' });
  });
});
