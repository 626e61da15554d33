/** Outcomes posted back: silences and RemediationFailed in a real Alertmanager 0.25, annotations in a fake Grafana, approvals. */

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listAlerts, listSilences, postAlerts, startAlertmanager, type AlertmanagerHandle } from '../support/alertmanager.js';
import { stopAll } from '../support/child.js';
import { freePort } from '../support/free-port.js';
import { makeTempDir } from '../support/temp-dir.js';
import { startFakeGrafana, type FakeGrafana } from '../grafana/fake-grafana.js';
import { eventually, startInProcess, TOKEN, type InProcess } from './in-process.js';

let am: AlertmanagerHandle;
let grafana: FakeGrafana;
let env: InProcess;
let publicURL = '';

interface RunJson {
  id: string;
  state: string;
  reason: string | null;
  approvedBy: string | null;
  silenceId: string | null;
  annotations: unknown;
  tiers: { state: string }[];
}

function runbook(name: string, body: string, safety = '{}'): string {
  return `name: ${name}
faultClass: test-${name}
description: outcomes
match:
  - alertname = "${name}"
params:
  host: { from: labels.instance, pattern: '[a-z0-9-]+' }
target: "{{ params.host }}"
safety: ${safety}
tiers:
${body}
`;
}

const tier = (name: string, steps: string, extra = ''): string => `  - name: ${name}\n${extra}    steps:\n${steps}\n`;
const step = (name: string, argv: string): string => `      - name: ${name}\n        run: ${argv}`;

beforeAll(async () => {
  const port = await freePort();
  publicURL = `http://127.0.0.1:${port}`;
  const dir = makeTempDir('outcomes');
  const token = path.join(dir, 'token');
  writeFileSync(token, `${TOKEN}\n`);
  am = await startAlertmanager({ webhookUrl: `${publicURL}/api/v1/alerts`, credentialsFile: token, groupWait: '1s', groupInterval: '1s' });
  grafana = await startFakeGrafana();
  writeFileSync(path.join(dir, 'grafana.token'), grafana.token);
  env = await startInProcess(
    {
      'silenced.yaml': runbook('silenced', tier('slow', step('sleep', '[sleep, "4"]')), '{ silence: true }'),
      'doomed.yaml': runbook('doomed', tier('one', step('fails', '["false"]')) + tier('two', step('fails-too', '["false"]'))),
      'annotated.yaml': runbook('annotated', tier('one', step('ok', '["true"]'))),
      'approved.yaml': runbook('approved', tier('cheap', step('fails', '["false"]')) + tier('costly', step('ok', '["true"]'), '    approval: required\n    approvalTimeout: 1m\n')),
      'unapproved.yaml': runbook('unapproved', tier('costly', step('ok', '["true"]'), '    approval: required\n    approvalTimeout: 2s\n')),
    },
    [`alertmanager: { url: "${am.url}" }`, `grafana: { url: "${grafana.url}", tokenFile: ${path.join(dir, 'grafana.token')} }`].join('\n'),
    dir,
    process.env,
    port,
  );
}, 60_000);

afterAll(async () => {
  await env?.close();
  await am?.stop();
  await grafana?.close();
  await stopAll();
});

async function fire(alertname: string, instance: string): Promise<void> {
  await postAlerts(am.url, [{ labels: { alertname, instance, severity: 'critical' } }]);
}

async function runFor(runbookName: string, until: (r: RunJson) => boolean, timeoutMs = 30_000, target?: string): Promise<RunJson> {
  return eventually(async () => {
    const q = target === undefined ? '' : `&target=${target}`;
    const { runs } = (await env.api('GET', `/api/v1/runs?runbook=${runbookName}${q}`)).json as { runs: { id: string }[] };
    const id = runs[0]?.id;
    if (id === undefined) return undefined;
    const run = (await env.api('GET', `/api/v1/runs/${id}`)).json as RunJson;
    return until(run) ? run : undefined;
  }, timeoutMs, `a ${runbookName} run`);
}

const ended = (r: RunJson): boolean => !['pending', 'running', 'awaiting_approval'].includes(r.state);

describe('silence: true', () => {
  it('silences the alert while its run is active, with the run linked, and expires the silence at the end', async () => {
    await fire('silenced', 'node-s');
    const running = await runFor('silenced', (r) => r.state === 'running' && r.silenceId !== null);
    const suppressed = await eventually(async () => {
      const [alert] = await listAlerts(am.url, { alertname: 'silenced' });
      return alert?.status.state === 'suppressed' ? alert : undefined;
    }, 15_000, 'the alert suppressed');
    expect(suppressed.status.silencedBy).toEqual([running.silenceId]);
    const silence = (await listSilences(am.url)).find((s) => s.id === running.silenceId);
    expect(silence).toMatchObject({ createdBy: 'remediator', status: { state: 'active' } });
    expect(silence?.comment).toContain(`${publicURL}/runs/${running.id}`);
    expect(silence?.matchers).toEqual(expect.arrayContaining([{ name: 'alertname', value: 'silenced', isRegex: false, isEqual: true }]));
    const done = await runFor('silenced', ended);
    expect(done.state).toBe('succeeded');
    await eventually(async () => ((await listSilences(am.url)).find((s) => s.id === running.silenceId)?.status.state === 'expired' ? true : undefined), 10_000, 'the silence expired');
  }, 60_000);
});

describe('a run whose tiers all fail', () => {
  it('ends failed, and Alertmanager shows RemediationFailed with the SPEC labels and a run_url', async () => {
    await fire('doomed', 'node-d');
    const run = await runFor('doomed', ended);
    expect(run).toMatchObject({ state: 'failed', tiers: [{ state: 'failed' }, { state: 'failed' }] });
    const failed = await eventually(async () => (await listAlerts(am.url, { alertname: 'RemediationFailed', original_alertname: 'doomed' }))[0], 20_000, 'RemediationFailed');
    expect(failed.labels).toMatchObject({
      alertname: 'RemediationFailed',
      original_alertname: 'doomed',
      instance: 'node-d',
      severity: 'critical',
      runbook: 'doomed',
      fault_class: 'test-doomed',
      target: 'node-d',
      reason: 'failed',
    });
    expect(failed.annotations?.run_url).toBe(`${publicURL}/runs/${run.id}`);
    expect(failed.annotations?.summary).toEqual(expect.any(String));
  }, 60_000);
});

describe('Grafana annotations', () => {
  it('makes exactly one annotation per run, created at start and turned into a region with the outcome tag at the end', async () => {
    const before = grafana.annotations.size;
    await fire('annotated', 'node-a');
    const run = await runFor('annotated', ended);
    const mine = await eventually(async () => {
      const list = [...grafana.annotations.values()].filter((a) => a.tags.includes('runbook:annotated'));
      return list.length === 1 && list[0]?.tags.includes('outcome:succeeded') ? list : undefined;
    }, 10_000, 'the region');
    expect(grafana.annotations.size).toBe(before + 1);
    const [a] = mine;
    expect(a?.tags).toEqual(expect.arrayContaining(['remediator', 'runbook:annotated', 'fault:test-annotated', 'target:node-a', 'outcome:succeeded']));
    expect(a?.timeEnd).toBeGreaterThan(a?.time ?? Infinity);
    expect(a?.text).toContain(`${publicURL}/runs/${run.id}`);
    const creates = grafana.requests.filter((r) => r.method === 'POST' && r.path === '/api/annotations' && JSON.stringify(r.body).includes('runbook:annotated'));
    expect(creates).toHaveLength(1);
  }, 60_000);

  it('lets the run complete on time while Grafana hangs, and records the failure in the run', async () => {
    await grafana.setMode('hang');
    try {
      const started = Date.now();
      await fire('annotated', 'node-b');
      const run = await runFor('annotated', ended, 60_000, 'node-b');
      expect(run.state).toBe('succeeded');
      // The run itself ends promptly; only its report waits out the retry budget.
      const endedAt = Date.parse((run as unknown as { endedAt: string }).endedAt);
      expect(endedAt - started).toBeLessThan(10_000);
      const report = await eventually(async () => {
        const r = (await env.api('GET', `/api/v1/runs/${run.id}`)).json as RunJson;
        const a = r.annotations as { error?: unknown } | null;
        return typeof a?.error === 'string' ? a : undefined;
      }, 40_000, 'the Grafana failure in the run record');
      expect(report.error).toEqual(expect.any(String));
    } finally {
      await grafana.setMode('up');
    }
  }, 90_000);
});

describe('approval: required', () => {
  it('waits for a person, resumes when approved, and records who approved: the principal, with the body\'s name as a note', async () => {
    await fire('approved', 'node-p');
    const waiting = await runFor('approved', (r) => r.state === 'awaiting_approval');
    const asking = await eventually(async () => (await listAlerts(am.url, { alertname: 'RemediationAwaitingApproval', original_alertname: 'approved' }))[0], 20_000, 'RemediationAwaitingApproval');
    expect(asking.annotations?.run_url).toBe(`${publicURL}/runs/${waiting.id}`);
    const res = await env.api('POST', `/api/v1/runs/${waiting.id}/approve`, { approver: 'alice' });
    expect(res.status).toBe(202);
    const done = await runFor('approved', ended);
    expect(done).toMatchObject({ state: 'succeeded', approvedBy: 'token:operate (note: alice)', tiers: [{ state: 'failed' }, { state: 'succeeded' }] });
    expect((await env.api('POST', `/api/v1/runs/${waiting.id}/approve`)).status).toBe(409);
  }, 60_000);

  it('cancels a run that waits for approval at once', async () => {
    await fire('approved', 'node-q');
    const waiting = await runFor('approved', (r) => r.state === 'awaiting_approval', 30_000, 'node-q');
    const res = await env.api('POST', `/api/v1/runs/${waiting.id}/cancel`);
    expect(res.json).toMatchObject({ state: 'canceled' });
    expect(((await env.api('GET', `/api/v1/runs/${waiting.id}`)).json as RunJson).state).toBe('canceled');
  }, 60_000);

  it('fails the run and escalates it when nobody approves within approvalTimeout', async () => {
    await fire('unapproved', 'node-u');
    const run = await runFor('unapproved', ended, 30_000);
    expect(run).toMatchObject({ state: 'failed', reason: 'approval_timeout' });
    const { escalations } = (await env.api('GET', `/api/v1/escalations?runId=${run.id}`)).json as { escalations: { reason: string }[] };
    expect(escalations.map((e) => e.reason)).toEqual(['approval_timeout']);
    await eventually(async () => (await listAlerts(am.url, { alertname: 'RemediationFailed', original_alertname: 'unapproved' }))[0], 20_000, 'RemediationFailed for the timeout');
  }, 60_000);
});
