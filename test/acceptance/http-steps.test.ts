/** http steps through the whole service: allowed calls succeed; calls outside http.allowHosts are refused and the refusal recorded. */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, startInProcess, webhookBody, type InProcess } from './in-process.js';

let server: http.Server;
let port = 0;
let env: InProcess;
const calls: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    if (req.url === '/redirect') {
      res.writeHead(302, { location: `http://localhost:${port}/health` }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('healthy\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  port = (server.address() as AddressInfo).port;
  const step = (name: string, url: string): string => `      - name: ${name}\n        http: { method: GET, url: "${url}", expectStatus: [200] }`;
  const runbook = (name: string, url: string): string => `name: ${name}
faultClass: test
description: http
match:
  - alertname = "${name}"
params:
  host: { from: labels.instance, pattern: '[a-z0-9.]+' }
target: "{{ params.host }}"
tiers:
  - name: only
    steps:
${step('call', url)}
`;
  env = await startInProcess(
    {
      'ok.yaml': runbook('http-ok', `http://{{ params.host }}:${port}/health`),
      'direct.yaml': runbook('http-direct', `http://127.0.0.3:${port}/health`),
      'name.yaml': runbook('http-name', `http://localhost:${port}/health`),
      'redirect.yaml': runbook('http-redirect', `http://127.0.0.2:${port}/redirect`),
    },
    // 127.0.0.2 is allowed; `localhost` is allowed by name but resolves to 127.0.0.1, a loopback address no CIDR entry allows.
    'http: { allowHosts: ["127.0.0.2/32", "localhost"] }',
  );
});

afterAll(async () => {
  await env.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface RunJson {
  state: string;
  tiers: { steps: { state: string; host: string | null; stdout: string; stderr: string; error: { code: string; message: string } | null }[] }[];
}

async function runOf(name: string, i: number): Promise<RunJson> {
  const res = await env.api('POST', '/api/v1/alerts', webhookBody([{ labels: { alertname: name, instance: '127.0.0.2' }, fingerprint: (0xd000 + i).toString(16).padStart(16, '0') }]));
  const id = (res.json as { runs: string[] }).runs[0];
  return eventually(async () => {
    const run = (await env.api('GET', `/api/v1/runs/${id}`)).json as RunJson;
    return ['pending', 'running'].includes(run.state) ? undefined : run;
  }, 20_000, `run of ${name}`);
}

describe('http steps', () => {
  it('call an allowed engine endpoint and record the answer', async () => {
    const run = await runOf('http-ok', 1);
    expect(run.state).toBe('succeeded');
    expect(run.tiers[0]?.steps[0]).toMatchObject({ state: 'succeeded', stdout: 'healthy\n' });
    expect(calls).toContain('GET /health');
  });

  it.each([
    ['directly', 'http-direct', 2, '127.0.0.3'],
    ['through a name that resolves to a refused address', 'http-name', 3, '127.0.0.1'],
    ['through a redirect', 'http-redirect', 4, 'localhost'],
  ])('refuse a call outside allowHosts %s, and record the refusal', async (_how, name, i, named) => {
    const before = calls.length;
    const run = await runOf(name, i);
    expect(run.state).toBe('failed');
    const step = run.tiers[0]?.steps[0];
    expect(step?.state).toBe('failed');
    expect(step?.error?.code).toBe('HTTP_HOST_NOT_ALLOWED');
    expect(step?.error?.message).toContain(named);
    // Only the allowed first hop of the redirect reached the server.
    expect(calls.slice(before)).toEqual(name === 'http-redirect' ? ['GET /redirect'] : []);
  });
});
