/** waitFor and precheck decided against a real Prometheus (2.42) evaluating a real rule over a scraped exporter. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stopAll } from '../support/child.js';
import { startExporter, type ExporterHandle } from '../support/exporter.js';
import { query, startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { waitFor } from '../support/wait-for.js';
import { eventually, startInProcess, webhookBody, type InProcess } from './in-process.js';

let exporter: ExporterHandle;
let prometheus: PrometheusHandle;
let env: InProcess;

const RULES = `groups:
- name: guards
  rules:
  - alert: GuardProbe
    expr: guard_flag == 1
    labels: { severity: critical }
`;

function runbook(name: string, safety: string): string {
  return `name: ${name}
faultClass: test
description: guarded by Prometheus
match:
  - alertname = "GuardProbe"
  - scenario = "${name}"
params:
  host: { from: labels.instance, pattern: '[0-9.:]+' }
target: "{{ params.host }}-${name}"
safety: ${safety}
tiers:
  - name: only
    steps:
      - name: ok
        run: ["true"]
`;
}

beforeAll(async () => {
  exporter = await startExporter();
  prometheus = await startPrometheus({ scrapeTargets: [exporter.hostPort], rules: RULES });
  env = await startInProcess(
    {
      'wait.yaml': runbook('wait-still', '{ waitFor: 3s }'),
      'gone.yaml': runbook('wait-gone', '{ waitFor: 4s }'),
      'pre.yaml': runbook('pre', `{ precheck: { promql: 'guard_precondition{instance="{{ labels.instance }}"} == 1' } }`),
    },
    `prometheus: { url: "${prometheus.url}" }`,
  );
}, 60_000);

afterAll(async () => {
  await env?.close();
  await prometheus?.stop();
  await exporter?.close();
  await stopAll();
});

async function alertsFiring(present: boolean): Promise<void> {
  await waitFor(async () => ((await query(prometheus.url, 'ALERTS{alertname="GuardProbe",alertstate="firing"}')).length > 0) === present ? true : undefined, {
    description: `ALERTS ${present ? 'present' : 'gone'}`,
    timeoutMs: 20_000,
  });
}

/** Posts the alert as Alertmanager would: the rule's labels plus the scraped series' labels plus a scenario label. */
async function deliver(scenario: string, i: number): Promise<string> {
  const labels = { alertname: 'GuardProbe', severity: 'critical', instance: exporter.hostPort, job: 'test', scenario };
  const res = await env.api('POST', '/api/v1/alerts', webhookBody([{ labels, fingerprint: (0xc000 + i).toString(16).padStart(16, '0') }]));
  expect(res.status).toBe(200);
  return ((res.json as { runs: string[] }).runs[0]) as string;
}

async function ended(runId: string): Promise<{ state: string; reason: string | null }> {
  return eventually(async () => {
    const run = (await env.api('GET', `/api/v1/runs/${runId}`)).json as { state: string; reason: string | null };
    return ['pending', 'running'].includes(run.state) ? undefined : run;
  }, 30_000, `run ${runId} to end`);
}

describe('waitFor', () => {
  it('acts when the alert still fires after the wait', async () => {
    exporter.set('guard_flag', 1);
    await alertsFiring(true);
    const runId = await deliver('wait-still', 1);
    expect((await env.api('GET', `/api/v1/runs/${runId}`)).json).toMatchObject({ state: 'pending' });
    expect(await ended(runId)).toMatchObject({ state: 'succeeded' });
  }, 60_000);

  it('skips the run as not_firing_after_wait when the alert stopped firing during the wait', async () => {
    exporter.set('guard_flag', 1);
    await alertsFiring(true);
    const runId = await deliver('wait-gone', 2);
    exporter.set('guard_flag', 0);
    await alertsFiring(false);
    expect(await ended(runId)).toEqual(expect.objectContaining({ state: 'skipped', reason: 'not_firing_after_wait' }));
  }, 60_000);
});

describe('precheck', () => {
  it('skips the run as precheck_failed when its query returns nothing, and acts when it returns something', async () => {
    exporter.set('guard_precondition', 0);
    await waitFor(async () => ((await query(prometheus.url, 'guard_precondition == 0')).length > 0 ? true : undefined), { description: 'precondition 0 scraped' });
    const refused = await deliver('pre', 3);
    expect(await ended(refused)).toEqual(expect.objectContaining({ state: 'skipped', reason: 'precheck_failed' }));

    exporter.set('guard_precondition', 1);
    await waitFor(async () => ((await query(prometheus.url, 'guard_precondition == 1')).length > 0 ? true : undefined), { description: 'precondition 1 scraped' });
    const allowed = await deliver('pre', 4);
    expect(await ended(allowed)).toMatchObject({ state: 'succeeded' });
  }, 60_000);
});
