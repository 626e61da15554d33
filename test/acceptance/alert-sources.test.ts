/**
 * "Still firing" asked of the sources that carry an alert: alerts sent straight to a real Alertmanager 0.25 (as amtool,
 * another ruler or another Prometheus would) that the configured real Prometheus never saw.
 */

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listAlerts, postAlerts, startAlertmanager, type AlertmanagerHandle } from '../support/alertmanager.js';
import { stopAll } from '../support/child.js';
import { freePort } from '../support/free-port.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { makeTempDir } from '../support/temp-dir.js';
import { eventually, startInProcess, TOKEN, webhookBody, type InProcess } from './in-process.js';

let am: AlertmanagerHandle;
let prometheus: PrometheusHandle;
let env: InProcess;

interface RunJson {
  id: string;
  state: string;
  reason: string | null;
  target: string;
}

function runbook(name: string, tiers: string, extra = ''): string {
  return `name: ${name.toLowerCase()}
faultClass: test-${name.toLowerCase()}
description: alert sources
match:
  - alertname = "${name}"
params:
  host: { from: labels.instance, pattern: '[a-z0-9-]+' }
target: "{{ params.host }}"
${extra}
tiers:
${tiers}
`;
}

const steps = (argv: string, extra = ''): string => `  - name: only\n${extra}    steps:\n      - name: act\n        run: ${argv}\n`;

beforeAll(async () => {
  const port = await freePort();
  const dir = makeTempDir('alert-sources');
  const token = path.join(dir, 'token');
  writeFileSync(token, `${TOKEN}\n`);
  // No resolved notifications: whether an alert ended must come from asking Alertmanager.
  am = await startAlertmanager({ webhookUrl: `http://127.0.0.1:${port}/api/v1/alerts`, credentialsFile: token, groupWait: '1s', groupInterval: '1s', sendResolved: false });
  prometheus = await startPrometheus({ rules: '' });
  env = await startInProcess(
    {
      'pooled.yaml': runbook('Pooled', steps('[sleep, "1.5"]'), 'pool: shared\nsafety: { maxConcurrentPerPool: 1 }'),
      'approved.yaml': runbook('Approved', steps('["true"]', '    approval: required\n    approvalTimeout: 1m\n')),
      'waiting.yaml': runbook('Waiting', steps('["true"]'), 'safety: { waitFor: 4s }'),
      'doomed.yaml': runbook('Doomed', steps('["false"]')),
      'strict.yaml': runbook('Strict', steps('["true"]')),
    },
    [`alertmanager: { url: "${am.url}" }`, `prometheus: { url: "${prometheus.url}" }`].join('\n'),
    dir,
    process.env,
    port,
  );
}, 60_000);

afterAll(async () => {
  await env?.close();
  await prometheus?.stop();
  await am?.stop();
  await stopAll();
});

async function runsOf(runbookName: string): Promise<RunJson[]> {
  return ((await env.api('GET', `/api/v1/runs?runbook=${runbookName}`)).json as { runs: RunJson[] }).runs;
}

const ended = (r: RunJson): boolean => !['pending', 'running', 'awaiting_approval'].includes(r.state);

describe('an alert the configured Prometheus never carried', () => {
  it('runs every run that waited for its pool, instead of skipping it as not firing', async () => {
    await postAlerts(am.url, ['pool-a', 'pool-b', 'pool-c', 'pool-d', 'pool-e'].map((instance) => ({ labels: { alertname: 'Pooled', instance } })));
    const runs = await eventually(async () => {
      const all = await runsOf('pooled');
      return all.length === 5 && all.every(ended) ? all : undefined;
    }, 40_000, 'five pooled runs to end');
    expect(runs.map((r) => r.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
  }, 60_000);

  it('runs an approved run, instead of canceling it as resolved', async () => {
    await postAlerts(am.url, [{ labels: { alertname: 'Approved', instance: 'appr-a' } }]);
    const waiting = await eventually(async () => (await runsOf('approved')).find((r) => r.state === 'awaiting_approval'), 20_000, 'a run awaiting approval');
    expect((await env.api('POST', `/api/v1/runs/${waiting.id}/approve`, {})).status).toBe(202);
    const done = await eventually(async () => (await runsOf('approved')).find((r) => r.id === waiting.id && ended(r)), 20_000, 'the approved run to end');
    expect(done.state).toBe('succeeded');
  }, 60_000);
});

describe('an alert that really ended', () => {
  it('skips a deferred run as not_firing_after_wait once Alertmanager no longer has its alert', async () => {
    await postAlerts(am.url, [{ labels: { alertname: 'Waiting', instance: 'wait-a' } }]);
    const pending = await eventually(async () => (await runsOf('waiting'))[0], 20_000, 'a deferred run');
    expect(pending.state).toBe('pending');
    // Resolve it in Alertmanager: with send_resolved off, no notification tells remediator.
    const [live] = await listAlerts(am.url, { alertname: 'Waiting' });
    await postAlerts(am.url, [{ labels: { alertname: 'Waiting', instance: 'wait-a' }, startsAt: live?.startsAt, endsAt: new Date().toISOString() }]);
    await eventually(async () => ((await listAlerts(am.url, { alertname: 'Waiting' })).length === 0 ? true : undefined), 10_000, 'Alertmanager to drop it');
    const done = await eventually(async () => (await runsOf('waiting')).find(ended), 20_000, 'the deferred run to end');
    expect(done).toMatchObject({ state: 'skipped', reason: 'not_firing_after_wait' });
  }, 60_000);

  it('cancels a run awaiting approval when the resolved notification arrives', async () => {
    const labels = { alertname: 'Approved', instance: 'appr-b' };
    const fingerprint = '00000000000000e1';
    const startsAt = '2026-12-01T10:00:00Z';
    const first = await env.api('POST', '/api/v1/alerts', webhookBody([{ labels, fingerprint, startsAt }]));
    const [runId] = (first.json as { runs: string[] }).runs;
    await eventually(async () => ((await runsOf('approved')).find((r) => r.id === runId)?.state === 'awaiting_approval' ? true : undefined), 20_000, 'awaiting approval');
    expect((await env.api('POST', '/api/v1/alerts', webhookBody([{ labels, fingerprint, startsAt, status: 'resolved' }]))).status).toBe(200);
    expect((await runsOf('approved')).find((r) => r.id === runId)).toMatchObject({ state: 'canceled', reason: 'resolved' });
  }, 60_000);
});

describe('a flood of refusals', () => {
  it('does not delay a failed run\'s RemediationFailed', async () => {
    for (let i = 0; i < 300; i++) {
      const fingerprint = (0xf000 + i).toString(16).padStart(16, '0');
      // An instance that fails the param pattern: each distinct episode is refused and escalated once.
      const res = await env.api('POST', '/api/v1/alerts', webhookBody([{ labels: { alertname: 'Strict', instance: `BAD_${i}` }, fingerprint }]));
      expect(res.status).toBe(200);
    }
    const started = Date.now();
    await postAlerts(am.url, [{ labels: { alertname: 'Doomed', instance: 'doom-a' } }]);
    const failed = await eventually(async () => (await runsOf('doomed')).find(ended), 20_000, 'the doomed run to fail');
    expect(failed.state).toBe('failed');
    await eventually(async () => (await listAlerts(am.url, { alertname: 'RemediationFailed', original_alertname: 'Doomed' }))[0], 20_000, 'RemediationFailed for Doomed');
    // Outbox passes run every 5 s; 300 refusals ahead of it in posting order would take over a minute.
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 90_000);
});
