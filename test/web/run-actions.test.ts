/** The run page's cancel and approve forms, with basic auth as a browser uses it: operate only, same-origin, with the form token. */

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseConfigText, resolveConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { buildService, type Service } from '../../src/service.js';
import { eventually, TOKEN, webhookBody } from '../acceptance/in-process.js';
import { GATED_RUNBOOK } from '../support/gated-runbook.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ALICE = basic('alice', 'alice-read-pw');
const BOB = basic('bob', 'bob-operate-pw');

let service: Service;
let server: Server;
let url = '';

beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'remediator-web-'));
  mkdirSync(path.join(root, 'runbooks'));
  writeFileSync(path.join(root, 'runbooks', 'gated.yaml'), GATED_RUNBOOK);
  for (const [file, secret] of [['token', TOKEN], ['alice', 'alice-read-pw'], ['bob', 'bob-operate-pw']]) writeFileSync(path.join(root, file as string), secret as string);
  const text = [
    'listen: 127.0.0.1:1',
    'runbooks: ./runbooks',
    'store: { url: "sqlite:./data/remediator.db" }',
    'auth:',
    '  webhook: { bearerTokenFile: token }',
    '  read: { basic: { username: alice, passwordFile: alice } }',
    '  operate: { basic: { username: bob, passwordFile: bob } }',
  ].join('\n');
  const file = path.join(root, 'remediator.yaml');
  writeFileSync(file, text);
  service = await buildService(resolveConfig(parseConfigText(text, file), file, root), createLogger({ level: 'silent' }), { defaultMetrics: false });
  server = await new Promise((resolve) => {
    const s = service.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  await service.stop(2_000);
});

async function get(urlPath: string, authorization = ALICE): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url + urlPath, { headers: { authorization }, redirect: 'manual' });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function post(urlPath: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; text: string; location: string | null }> {
  const res = await fetch(url + urlPath, {
    method: 'POST',
    headers: { authorization: BOB, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
    redirect: 'manual',
  });
  return { status: res.status, text: await res.text(), location: res.headers.get('location') };
}

async function state(id: string): Promise<{ state: string; approvedBy: string | null }> {
  const res = await fetch(`${url}/api/v1/runs/${id}`, { headers: { authorization: ALICE } });
  return (await res.json()) as { state: string; approvedBy: string | null };
}

/** A run of `gated` on the host, once it waits for approval. */
async function awaitingRun(host: string, fingerprint: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/alerts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(webhookBody([{ labels: { alertname: 'Gated', instance: host }, fingerprint }])),
  });
  expect(res.status).toBe(200);
  const id = ((await res.json()) as { runs: string[] }).runs[0] as string;
  await eventually(async () => ((await state(id)).state === 'awaiting_approval' ? true : undefined), 20_000, 'awaiting_approval');
  return id;
}

/** The token of the form that posts to /runs/{id}/{action} on the run page. */
async function formToken(id: string, action: 'cancel' | 'approve'): Promise<string> {
  const page = await get(`/runs/${id}`);
  const match = new RegExp(`action="/runs/${id}/${action}"[^>]*>\\s*<input type="hidden" name="token" value="([^"]+)"`).exec(page.text);
  expect(match).not.toBeNull();
  return match?.[1] as string;
}

describe('basic auth on the pages', () => {
  it('challenges a browser with Basic when basic credentials are configured', async () => {
    const res = await get('/runs', '');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="remediator"/);
    expect((await get('/runs')).status).toBe(200);
    expect((await get('/runs', basic('alice', 'wrong'))).status).toBe(401);
  });
});

describe('the approve form', () => {
  let id = '';
  let token = '';
  beforeAll(async () => {
    id = await awaitingRun('node-approve', 'aaaa000000000001');
    token = await formToken(id, 'approve');
  });

  it.each([
    ['a reader', { token: 'TOKEN' }, { authorization: ALICE }, 401],
    ['no credentials', { token: 'TOKEN' }, { authorization: '' }, 401],
    ['no token', {}, {}, 403],
    ['a forged token', { token: 'A'.repeat(43) }, {}, 403],
    ['the cancel token', { token: 'CANCEL' }, {}, 403],
    ['a cross-site fetch', { token: 'TOKEN' }, { 'sec-fetch-site': 'cross-site' }, 403],
    ['a foreign origin', { token: 'TOKEN' }, { origin: 'http://evil.example' }, 403],
    ['a JSON body', { token: 'TOKEN' }, { 'content-type': 'application/json' }, 403],
  ])('refuses a post from %s and leaves the run waiting', async (_who, form, headers, status) => {
    const cancelToken = await formToken(id, 'cancel');
    const filled = Object.fromEntries(Object.entries(form).map(([k, v]) => [k, v === 'TOKEN' ? token : v === 'CANCEL' ? cancelToken : v]));
    const res = await post(`/runs/${id}/approve`, filled, headers);
    expect(res.status).toBe(status);
    expect((await state(id)).state).toBe('awaiting_approval');
  });

  it('approves with the token from the page, records the basic user with the typed name only as a note, and shows the run again', async () => {
    const res = await post(`/runs/${id}/approve`, { token, approver: 'mallory' }, { origin: url, 'sec-fetch-site': 'same-origin' });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/runs/${id}`);
    const done = await eventually(async () => {
      const r = await state(id);
      return r.state === 'succeeded' ? r : undefined;
    }, 20_000, 'the approved run to succeed');
    expect(done.approvedBy).toBe('bob (note: mallory)');
    const page = await get(`/runs/${id}`);
    expect(page.text).toMatch(/<dt>approved by<\/dt><dd>bob \(note: mallory\)<\/dd>/);
    expect(page.text).not.toContain('<form method="post"');
  });

  it('answers 409 to a second approval', async () => {
    const res = await post(`/runs/${id}/approve`, { token });
    expect(res.status).toBe(409);
    expect(res.text).toContain('not awaiting approval');
  });
});

describe('the cancel form', () => {
  it('cancels a waiting run with the token and refuses once it ended', async () => {
    const id = await awaitingRun('node-cancel', 'cccc000000000002');
    expect((await post(`/runs/${id}/cancel`, { token: await formToken(id, 'approve') })).status).toBe(403);
    const token = await formToken(id, 'cancel');
    const res = await post(`/runs/${id}/cancel`, { token });
    expect(res.status).toBe(303);
    expect(await state(id)).toMatchObject({ state: 'canceled' });
    const again = await post(`/runs/${id}/cancel`, { token });
    expect(again.status).toBe(409);
    expect(again.text).toContain('already ended as canceled');
  });

  it('refuses a post for an unknown run at the token check, before saying whether it exists', async () => {
    expect((await post('/runs/no-such-run/cancel', { token: 'x' })).status).toBe(403);
  });
});
