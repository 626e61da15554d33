import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { labelSet, type LabelSet } from '../../src/core/alert.js';
import { firingAlertsQuery, isAlertFiring } from '../../src/verify/alert-firing.js';
import { createPrometheusClient, type PrometheusClient } from '../../src/verify/prometheus-client.js';
import { PrometheusError } from '../../src/verify/prometheus-error.js';
import { stopAll } from '../support/child.js';
import { startExporter, type ExporterHandle } from '../support/exporter.js';
import { freePort } from '../support/free-port.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { waitFor } from '../support/wait-for.js';

const RULES = `
groups:
  - name: remediator-test
    rules:
      - alert: GpuMemoryHigh
        expr: test_gpu_memory_used_ratio > 0.9
        for: 0s
        labels: { severity: critical }
`;

/** A label value that needs every PromQL string escape. */
const HOSTILE_MODEL = 'we"ird\\model\nname';

describe('isAlertFiring against a real Prometheus evaluating a rule', () => {
  let exporter: ExporterHandle;
  let prom: PrometheusHandle;
  let client: PrometheusClient;
  /** The alert as Alertmanager would send it: the series' labels plus an external label the series lacks. */
  let alert: LabelSet;

  beforeAll(async () => {
    exporter = await startExporter();
    exporter.set('test_gpu_memory_used_ratio', 0.95, { gpu: '0', model: HOSTILE_MODEL });
    prom = await startPrometheus({ rules: RULES, scrapeTargets: [exporter.hostPort] });
    client = createPrometheusClient({ url: prom.url, timeoutMs: 5000 });
    alert = labelSet(
      Object.entries({ alertname: 'GpuMemoryHigh', severity: 'critical', gpu: '0', model: HOSTILE_MODEL, instance: exporter.hostPort, job: 'test', cluster: 'prod-eu' }),
    );
  });

  afterAll(async () => {
    await prom?.stop();
    await exporter?.close();
    await stopAll();
  });

  it('is true once the rule fires, though the alert carries an external label the series lacks', async () => {
    await waitFor(async () => ((await isAlertFiring(client, alert)) ? true : undefined), { description: 'GpuMemoryHigh firing', timeoutMs: 20_000 });
    const answer = await client.query(firingAlertsQuery('GpuMemoryHigh'));
    expect(answer.resultType === 'vector' && answer.result[0]?.metric.model).toBe(HOSTILE_MODEL);
  });

  it.each([
    ['another instance', { instance: '10.0.0.9:8000' }],
    ['another value with the same text but no escapes', { model: 'weirdmodelname' }],
    ['another alertname', { alertname: 'GpuMemoryLow' }],
  ])('is false for an alert with %s', async (_what, change) => {
    expect(await isAlertFiring(client, labelSet(Object.entries({ ...alert, ...change })))).toBe(false);
  });

  it('is false for an alert that lacks a label the series has', async () => {
    const { gpu: _gpu, ...rest } = alert;
    expect(await isAlertFiring(client, labelSet(Object.entries(rest)))).toBe(false);
  });

  it('sends an alertname full of PromQL string escapes as a valid query', async () => {
    expect(await isAlertFiring(client, labelSet(Object.entries({ ...alert, alertname: 'a"b\\c\nd}' })))).toBe(false);
  });

  it('rejects, never answers false, when Prometheus cannot be reached', async () => {
    const down = createPrometheusClient({ url: `http://127.0.0.1:${await freePort()}` });
    await expect(isAlertFiring(down, alert)).rejects.toBeInstanceOf(PrometheusError);
  });

  it('is false again after the gauge drops below the threshold', async () => {
    exporter.set('test_gpu_memory_used_ratio', 0.1, { gpu: '0', model: HOSTILE_MODEL });
    await waitFor(async () => ((await isAlertFiring(client, alert)) ? undefined : true), { description: 'GpuMemoryHigh resolved', timeoutMs: 20_000 });
    expect(await isAlertFiring(client, alert)).toBe(false);
  });
});
