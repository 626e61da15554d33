import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { MAX_EVIDENCE_SERIES, type PromqlEvidence } from '../../src/execute/promql/render-result.js';
import { runPromqlStep, type PromqlStepOptions } from '../../src/execute/promql/promql-step.js';
import { checkPrecheck } from '../../src/verify/precheck.js';
import { createPrometheusClient, type PrometheusClient } from '../../src/verify/prometheus-client.js';
import { PrometheusError } from '../../src/verify/prometheus-error.js';
import { stopAll } from '../support/child.js';
import { startExporter, type ExporterHandle } from '../support/exporter.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { waitFor } from '../support/wait-for.js';
import { startStandIn, type StandIn } from './stand-in-server.js';

const SERIES = 150;

describe('runPromqlStep against a real Prometheus', () => {
  let exporter: ExporterHandle;
  let prom: PrometheusHandle;
  let client: PrometheusClient;
  let hang: StandIn;

  const options = (overrides: Partial<PromqlStepOptions> = {}): PromqlStepOptions => ({
    client,
    timeoutMs: 5000,
    signal: new AbortController().signal,
    maxOutputBytes: 65_536,
    ...overrides,
  });

  beforeAll(async () => {
    exporter = await startExporter();
    exporter.set('up_ready', 1, { model: 'llama' });
    for (let i = 0; i < SERIES; i++) exporter.set('many_series', i, { i: String(i) });
    prom = await startPrometheus({ scrapeTargets: [exporter.hostPort] });
    client = createPrometheusClient({ url: prom.url });
    hang = await startStandIn(() => undefined);
    await waitFor(async () => ((await runPromqlStep('count(many_series) == 150', options())).ok ? true : undefined), { description: 'the exporter scraped' });
  });

  afterAll(async () => {
    await hang?.close();
    await prom?.stop();
    await exporter?.close();
    await stopAll();
  });

  it('succeeds on a non-empty result, rendering it as stdout and keeping it as evidence', async () => {
    const result = await runPromqlStep('up_ready{model="llama"} == 1', options());
    expect(result).toMatchObject({ ok: true, error: null, stoppedBy: null, timedOut: false, stderr: '', host: prom.url });
    expect(result.stdout).toBe(`up_ready{instance="${exporter.hostPort}", job="test", model="llama"} 1\n`);
    expect(result.evidence).toMatchObject({ query: 'up_ready{model="llama"} == 1', resultType: 'vector', seriesCount: 1, truncated: false });
  });

  it('fails on an empty result, with no error: the query ran and said no', async () => {
    const result = await runPromqlStep('up_ready{model="llama"} == 0', options());
    expect(result).toMatchObject({ ok: false, error: null, stoppedBy: null, stdout: 'empty vector: no series matched\n' });
    expect(result.evidence).toMatchObject({ seriesCount: 0, result: [] });
  });

  it('fails with PROMQL_ERROR and Prometheus\' message on a query that does not parse', async () => {
    const result = await runPromqlStep('sum(up_ready', options());
    expect(result).toMatchObject({ ok: false, stoppedBy: null, error: { code: 'PROMQL_ERROR' } });
    expect(result.error?.message).toMatch(/^Prometheus rejected the query \(bad_data\): .*parse error/);
  });

  it(`keeps at most ${MAX_EVIDENCE_SERIES} series as evidence and caps stdout`, async () => {
    const result = await runPromqlStep('many_series', options({ maxOutputBytes: 300 }));
    const evidence = result.evidence as PromqlEvidence;
    expect(result.ok).toBe(true);
    expect(evidence).toMatchObject({ seriesCount: SERIES, truncated: true });
    expect(evidence.result).toHaveLength(MAX_EVIDENCE_SERIES);
    expect(Buffer.byteLength(result.stdout)).toBe(300);
    expect(result.stdoutTruncated).toBe(true);
  });

  it('fails as PROMETHEUS_NOT_CONFIGURED when there is no client', async () => {
    const result = await runPromqlStep('up', options({ client: null }));
    expect(result).toMatchObject({ ok: false, error: { code: 'PROMETHEUS_NOT_CONFIGURED' } });
  });

  it('times out against a Prometheus that never answers, recording the timeout', async () => {
    const started = Date.now();
    const result = await runPromqlStep('up', options({ client: createPrometheusClient({ url: hang.url }), timeoutMs: 300 }));
    expect(result).toMatchObject({ ok: false, timedOut: true, stoppedBy: 'timeout', error: { code: 'PROMQL_ERROR' } });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('stops when the run is canceled, recording the cause rather than an error', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort('shutdown'), 100);
    const result = await runPromqlStep('up', options({ client: createPrometheusClient({ url: hang.url }), signal: abort.signal }));
    expect(result).toMatchObject({ ok: false, timedOut: false, stoppedBy: 'shutdown', error: null });
  });

  it('decides a precheck: met on a non-empty result, unmet on an empty one, and a rejection on a bad query', async () => {
    await expect(checkPrecheck(client, 'up_ready{model="llama"} == 1')).resolves.toMatchObject({ met: true, result: { resultType: 'vector' } });
    await expect(checkPrecheck(client, 'up_ready{model="llama"} == 0')).resolves.toMatchObject({ met: false, result: { result: [] } });
    await expect(checkPrecheck(client, 'up_ready{')).rejects.toBeInstanceOf(PrometheusError);
  });
});
