/** A real Prometheus rule fires, a real Alertmanager 0.25 delivers it, the shipped runbook runs once. */

import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { startAlertmanager, type AlertmanagerHandle } from '../support/alertmanager.js';
import { stopAll } from '../support/child.js';
import { freePort } from '../support/free-port.js';
import { startExporter, type ExporterHandle } from '../support/exporter.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { REPO_ROOT, startService, writeTokenFile, type ServiceHandle } from '../support/service.js';
import { makeTempDir } from '../support/temp-dir.js';
import { sleep, waitFor } from '../support/wait-for.js';

const TOKEN = 'am-webhook-token';
const READ = 'reader-token';
let exporter: ExporterHandle | null = null;
let prometheus: PrometheusHandle | null = null;
let alertmanager: AlertmanagerHandle | null = null;
let service: ServiceHandle | null = null;

afterAll(async () => {
  await prometheus?.stop();
  await alertmanager?.stop();
  await service?.stop();
  await exporter?.close();
  await stopAll();
});

interface RunJson {
  id: string;
  state: string;
  runbook: string;
  tiers: { steps: { name: string; state: string; stdout: string }[] }[];
}

async function get<T>(urlPath: string): Promise<T> {
  const res = await fetch(`${service?.url}${urlPath}`, { headers: { authorization: `Bearer ${READ}` } });
  return (await res.json()) as T;
}

describe('Alertmanager to remediator', () => {
  it('runs the shipped probe-flag runbook once for an alert from a real Prometheus rule', async () => {
    const dir = makeTempDir('am-e2e');
    const webhookToken = writeTokenFile(dir, TOKEN, 'webhook');
    const readToken = writeTokenFile(dir, READ, 'read');
    // The probe's tier is verified in Prometheus, so the service needs Prometheus' address, and
    // Alertmanager the service's: the service's port is chosen first.
    const port = await freePort();
    exporter = await startExporter();
    exporter.set('probe_flag', 1);
    alertmanager = await startAlertmanager({
      webhookUrl: `http://127.0.0.1:${port}/api/v1/alerts`,
      credentialsFile: webhookToken,
      groupWait: '1s',
      groupInterval: '1s',
      repeatInterval: '2s',
    });
    prometheus = await startPrometheus({
      scrapeTargets: [exporter.hostPort],
      alertmanagerUrl: alertmanager.url,
      resendDelay: '1s',
      rules: `groups:
- name: probe
  rules:
  - alert: ProbeFlagHigh
    expr: probe_flag == 1
    labels: { severity: critical, runbook: probe-flag }
    annotations: { summary: "probe_flag is 1 on {{ $labels.instance }}" }
`,
    });
    service = await startService({
      dir,
      config: {
        listen: `127.0.0.1:${port}`,
        runbooks: path.join(REPO_ROOT, 'runbooks'),
        store: { url: 'sqlite:./data/remediator.db' },
        prometheus: { url: prometheus.url },
        auth: { webhook: { bearerTokenFile: webhookToken }, read: { bearerTokenFile: readToken }, operate: { bearerTokenFile: readToken } },
      },
    });
    await service.waitReady();

    const run = await waitFor(
      async () => {
        const { runs } = await get<{ runs: { id: string; state: string }[] }>('/api/v1/runs?runbook=probe-flag');
        const done = runs.find((r) => r.state === 'succeeded');
        return done ? get<RunJson>(`/api/v1/runs/${done.id}`) : undefined;
      },
      { description: 'a succeeded probe-flag run', timeoutMs: 60_000, intervalMs: 500 },
    );
    const target = run.tiers[0]?.steps.find((s) => s.name === 'target');
    expect(target?.state).toBe('succeeded');
    expect(target?.stdout).toContain(`probe flag raised on 127.0.0.1 (run ${run.id})`);

    // repeat_interval is 2s: Alertmanager re-delivers the same episode several times; it stays one run.
    await sleep(6_000);
    const { runs } = await get<{ runs: { id: string }[] }>('/api/v1/runs?runbook=probe-flag');
    expect(runs.map((r) => r.id)).toEqual([run.id]);
    const { decisions } = await get<{ decisions: { runId: string | null; deliveries: number; decision: string }[] }>(
      '/api/v1/decisions?runbook=probe-flag',
    );
    const original = decisions.find((d) => d.decision === 'run');
    expect(original?.runId).toBe(run.id);
    expect(original?.deliveries).toBeGreaterThan(1);
  }, 120_000);
});
