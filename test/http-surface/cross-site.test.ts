/**
 * SPEC §3: browsers are not clients of the API. Cross-site posts (form-encoded and text/plain, with
 * another site's Origin and Sec-Fetch-Site) to every state-changing route are refused, with basic
 * auth (a browser's cached credentials ride along) and on the open default, and change nothing;
 * same-origin use and Alertmanager's own requests work.
 */

import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '../acceptance/in-process.js';
import { basic, rawRequest, startSurface, type RawAnswer, type Surface } from './surface.js';
import { GATED_RUNBOOK } from '../support/gated-runbook.js';

const touch = (dir: string): string => `name: touch
faultClass: test
description: leaves a file behind, so a run that executed shows
match:
  - alertname = "Touch"
params:
  host: { from: labels.instance, pattern: '[a-z0-9-]{1,64}' }
target: "{{ params.host }}"
tiers:
  - name: only
    steps:
      - name: mark
        run: [touch, "${dir}/ran-{{ params.host }}"]
`;

const OPERATE = basic('bob', 'bob-operate-pw');
const WEBHOOK = basic('am', 'am-webhook-pw');
const MODES = [
  {
    mode: 'basic auth',
    config: ['auth:', '  webhook: { basic: { username: am, passwordFile: am } }', '  read: { basic: { username: bob, passwordFile: bob } }', '  operate: { basic: { username: bob, passwordFile: bob } }'].join('\n'),
    files: { am: 'am-webhook-pw', bob: 'bob-operate-pw' },
    operate: { authorization: OPERATE },
    webhook: { authorization: WEBHOOK },
    principal: 'bob',
  },
  { mode: 'the open default', config: '', files: {}, operate: {}, webhook: {}, principal: 'anonymous' },
] as const;

function alertBody(alertname: string, instance: string, fingerprint: string): string {
  return JSON.stringify({
    version: '4',
    status: 'firing',
    groupKey: 'g',
    receiver: 'remediator',
    alerts: [{ status: 'firing', labels: { alertname, instance }, annotations: {}, startsAt: '2026-11-26T14:31:52.553Z', fingerprint }],
  });
}

const EVIL = 'http://evil.example';
const ATTACKS = [
  ['a form post from another origin', 'application/x-www-form-urlencoded', { origin: EVIL }],
  ['a text/plain post marked cross-site', 'text/plain', { origin: EVIL, 'sec-fetch-site': 'cross-site' }],
  ['a text/plain post marked same-site (a sibling host)', 'text/plain', { origin: 'http://grafana.localhost', 'sec-fetch-site': 'same-site' }],
  ['a form post from an opaque origin', 'application/x-www-form-urlencoded', { origin: 'null' }],
  ['a JSON post from another origin', 'application/json', { origin: EVIL, 'sec-fetch-site': 'cross-site' }],
] as const;

describe.each(MODES)('with $mode', (m) => {
  let s: Surface;
  let formId = '';
  let apiId = '';
  let host = '';
  const headers = (extra: Record<string, string>): Record<string, string> => ({ host, ...m.operate, ...extra });
  const get = async (p: string): Promise<RawAnswer> => rawRequest(s.port, 'GET', p, headers({}));
  const json = async (p: string): Promise<Record<string, unknown>> => JSON.parse((await get(p)).text) as Record<string, unknown>;
  const deliver = async (alertname: string, instance: string, fp: string): Promise<RawAnswer> =>
    rawRequest(s.port, 'POST', '/api/v1/alerts', { host, ...m.webhook, 'content-type': 'application/json' }, alertBody(alertname, instance, fp));
  const awaiting = async (instance: string, fp: string): Promise<string> => {
    const res = await deliver('Gated', instance, fp);
    expect(res.status).toBe(200);
    const id = (JSON.parse(res.text) as { runs: string[] }).runs[0] as string;
    await eventually(async () => ((await json(`/api/v1/runs/${id}`)).state === 'awaiting_approval' ? true : undefined), 20_000, 'awaiting_approval');
    return id;
  };
  const formToken = async (id: string, action: string): Promise<string> => {
    const page = await get(`/runs/${id}`);
    return new RegExp(`action="/runs/${id}/${action}"[^>]*>\\s*<input type="hidden" name="token" value="([^"]+)"`).exec(page.text)?.[1] ?? '';
  };

  beforeAll(async () => {
    s = await startSurface((dir) => ({ 'gated.yaml': GATED_RUNBOOK, 'touch.yaml': touch(dir) }), m.config, m.files);
    host = `127.0.0.1:${s.port}`;
    formId = await awaiting('node-form', '00000000000000f1');
    apiId = await awaiting('node-api', '00000000000000f2');
  }, 60_000);
  afterAll(async () => {
    await s.close();
  });

  const routes = (): string[] => [
    '/api/v1/alerts',
    `/api/v1/runs/${formId}/cancel`,
    `/api/v1/runs/${formId}/approve`,
    '/api/v1/runbooks/touch/pause',
    '/api/v1/runbooks/touch/resume',
    '/api/v1/runbooks/touch/reset',
    '/api/v1/pause',
    '/api/v1/resume',
    '/-/reload',
    `/runs/${formId}/cancel`,
    `/runs/${formId}/approve`,
  ];

  it.each(ATTACKS)('refuses %s to every state-changing route with 403 CROSS_SITE, and nothing changes', async (_what, type, browser) => {
    const before = await json('/api/v1/runbooks');
    const tokens = { cancel: await formToken(formId, 'cancel'), approve: await formToken(formId, 'approve') };
    for (const route of routes()) {
      const action = route.endsWith('/cancel') ? 'cancel' : 'approve';
      // The real token, which an attacker could not read: the origin check alone must refuse.
      const body = route === '/api/v1/alerts' ? alertBody('Touch', 'evil', '00000000000000ee') : new URLSearchParams({ token: tokens[action], note: 'x' }).toString();
      const res = await rawRequest(s.port, 'POST', route, headers({ ...(route === '/api/v1/alerts' ? m.webhook : {}), 'content-type': type, ...browser }), body);
      expect({ route, status: res.status, code: (JSON.parse(res.text) as { error?: { code?: string } }).error?.code }).toEqual({ route, status: 403, code: 'CROSS_SITE' });
    }
    expect((await json(`/api/v1/runs/${formId}`)).state).toBe('awaiting_approval');
    expect((await json('/api/v1/decisions?fingerprint=00000000000000ee')).decisions).toEqual([]);
    expect(existsSync(path.join(s.dir, 'ran-evil'))).toBe(false);
    const after = await json('/api/v1/runbooks');
    expect(after).toEqual(before);
    expect(after.globalPaused).toBe(false);
  });

  it('refuses a text/plain webhook post that carries no browser headers at all with 415, and runs nothing', async () => {
    const res = await rawRequest(s.port, 'POST', '/api/v1/alerts', { host, ...m.webhook, 'content-type': 'text/plain' }, alertBody('Touch', 'plain', '00000000000000ef'));
    expect(res.status).toBe(415);
    expect((await json('/api/v1/decisions?fingerprint=00000000000000ef')).decisions).toEqual([]);
  });

  it('refuses a control post without Content-Type: application/json with 415, and takes one with an empty JSON body', async () => {
    const bare = await rawRequest(s.port, 'POST', '/api/v1/pause', headers({}));
    expect(bare.status).toBe(415);
    expect((await json('/api/v1/runbooks')).globalPaused).toBe(false);
    const paused = await rawRequest(s.port, 'POST', '/api/v1/pause', headers({ 'content-type': 'application/json' }));
    expect(paused.status).toBe(200);
    expect((await json('/api/v1/runbooks')).globalPaused).toBe(true);
    // Same-origin: a page of this service may call the API with its own Origin.
    const resumed = await rawRequest(s.port, 'POST', '/api/v1/resume', headers({ 'content-type': 'application/json', origin: `http://${host}`, 'sec-fetch-site': 'same-origin' }), '{}');
    expect(resumed.status).toBe(200);
    expect((await json('/api/v1/runbooks')).globalPaused).toBe(false);
  });

  it("runs Alertmanager's own delivery: JSON, no Origin", async () => {
    expect((await deliver('Touch', 'am-ok', '00000000000000a1')).status).toBe(200);
    await eventually(async () => (existsSync(path.join(s.dir, 'ran-am-ok')) ? true : undefined), 20_000, 'the run to execute');
  });

  it('approves from the run page with its token and its own Origin, recording the principal', async () => {
    const token = await formToken(formId, 'approve');
    const res = await rawRequest(s.port, 'POST', `/runs/${formId}/approve`, headers({ 'content-type': 'application/x-www-form-urlencoded', origin: `http://${host}`, 'sec-fetch-site': 'same-origin' }), new URLSearchParams({ token }).toString());
    expect(res.status).toBe(303);
    const run = await eventually(async () => {
      const r = await json(`/api/v1/runs/${formId}`);
      return r.state === 'succeeded' ? r : undefined;
    }, 20_000, 'the approved run to succeed');
    expect(run.approvedBy).toBe(m.principal);
  });

  it('approves through the API as the principal; a body approver is only a note', async () => {
    const res = await rawRequest(s.port, 'POST', `/api/v1/runs/${apiId}/approve`, headers({ 'content-type': 'application/json' }), JSON.stringify({ approver: 'mallory' }));
    expect(res.status).toBe(202);
    expect(JSON.parse(res.text)).toMatchObject({ approvedBy: `${m.principal} (note: mallory)` });
    expect((await json(`/api/v1/runs/${apiId}`)).approvedBy).toBe(`${m.principal} (note: mallory)`);
  });
});
