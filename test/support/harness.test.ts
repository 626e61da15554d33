import { afterAll, describe, expect, it } from '@jest/globals';
import { postAlerts, listAlerts, startAlertmanager } from './alertmanager.js';
import type { AlertmanagerHandle } from './alertmanager.js';
import { isAlive, startChild, stopAll } from './child.js';
import { startExporter } from './exporter.js';
import type { ExporterHandle } from './exporter.js';
import { query, startPrometheus } from './prometheus.js';
import type { PrometheusHandle } from './prometheus.js';
import { writeTokenFile } from './service.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';
import { startWebhookReceiver } from './webhook-receiver.js';
import type { WebhookReceiver } from './webhook-receiver.js';

const RULES = `
groups:
  - name: harness
    rules:
      - alert: ProbeFlagHigh
        expr: probe_flag == 1
        labels: { runbook: restart-service, severity: critical }
        annotations: { summary: probe flag is up }
`;

interface WebhookBody {
  version: string;
  status: string;
  receiver: string;
  alerts: { status: string; labels: Record<string, string>; fingerprint: string; endsAt: string }[];
}

afterAll(stopAll);

describe('the real-component harness', () => {
  const token = 'harness-s3cret';
  const dir = makeTempDir('harness');
  let exporter: ExporterHandle;
  let receiver: WebhookReceiver;
  let am: AlertmanagerHandle;
  let prom: PrometheusHandle;

  afterAll(async () => {
    await Promise.all([prom?.stop(), am?.stop(), receiver?.close(), exporter?.close()]);
    removeTempDir(dir);
  });

  it('delivers a Prometheus alert through Alertmanager to a webhook with the bearer token', async () => {
    exporter = await startExporter();
    exporter.set('probe_flag', 1);
    receiver = await startWebhookReceiver();
    am = await startAlertmanager({
      webhookUrl: `${receiver.url}/api/v1/alerts`,
      credentialsFile: writeTokenFile(dir, token, 'webhook'),
    });
    prom = await startPrometheus({ rules: RULES, scrapeTargets: [exporter.hostPort], alertmanagerUrl: am.url });

    const delivery = await waitFor(() => receiver.requests.find((r) => r.body.includes('ProbeFlagHigh')), {
      description: 'a webhook carrying ProbeFlagHigh',
      timeoutMs: 45_000,
      context: () => `${prom.child.describe()}\n${am.child.describe()}`,
    });
    const body = JSON.parse(delivery.body) as WebhookBody;
    expect(delivery.method).toBe('POST');
    expect(delivery.path).toBe('/api/v1/alerts');
    expect(delivery.headers.authorization).toBe(`Bearer ${token}`);
    expect(body.version).toBe('4');
    expect(body.status).toBe('firing');
    expect(body.receiver).toBe('remediator');
    expect(body.alerts).toHaveLength(1);
    expect(body.alerts[0]?.labels).toMatchObject({ alertname: 'ProbeFlagHigh', runbook: 'restart-service', severity: 'critical' });
    expect(body.alerts[0]?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(body.alerts[0]?.endsAt).toBe('0001-01-01T00:00:00Z');
  });

  it('answers PromQL queries about the exporter it scrapes', async () => {
    const samples = await query(prom.url, 'probe_flag');
    expect(samples).toHaveLength(1);
    expect(samples[0]?.metric).toMatchObject({ __name__: 'probe_flag', job: 'test', instance: exporter.hostPort });
    expect(samples[0]?.value[1]).toBe('1');
  });

  it('lists posted alerts through the Alertmanager API', async () => {
    await postAlerts(am.url, [{ labels: { alertname: 'HarnessPosted', instance: 'gpu-1:8000' }, annotations: { summary: 'x' } }]);
    const alerts = await listAlerts(am.url, { alertname: 'HarnessPosted' });
    expect(alerts.map((a) => a.labels)).toEqual([{ alertname: 'HarnessPosted', instance: 'gpu-1:8000' }]);
  });

  it('stops Prometheus and Alertmanager so that their PIDs are gone', async () => {
    const pids = [prom.pid, am.pid];
    expect(pids.every(isAlive)).toBe(true);
    await Promise.all([prom.stop(), am.stop()]);
    expect(pids.filter(isAlive)).toEqual([]);
  });
});

describe('startChild', () => {
  it('kills a child that ignores SIGTERM once the grace period is over, and reports its output', async () => {
    const child = await startChild('bash', ['-c', 'trap "" TERM; echo started; sleep 60'], { name: 'stubborn' });
    await waitFor(() => (child.output().includes('started') ? true : undefined), { description: 'the child to start' });
    const exit = await child.stop(300);
    expect(exit.signal).toBe('SIGKILL');
    expect(isAlive(child.pid)).toBe(false);
    expect(child.describe()).toContain('started');
  });

  it('rejects with a clear message when the program does not exist', async () => {
    await expect(startChild('/nonexistent/remediator-harness-binary', [])).rejects.toThrow(/could not start/);
  });
});
