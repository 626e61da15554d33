/** The Node server's limits, through real sockets: slow headers, the connection cap, oversized and ill-formed bodies. */

import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rawRequest, rawSocket, startSurface, type Surface } from './surface.js';

const TOKEN = 'surface-token-0123456789';
const RUNBOOK = `name: echo
faultClass: test
description: runs a harmless step
match:
  - alertname = "Echo"
params:
  host: { from: labels.instance, pattern: '[a-z0-9-]{1,64}' }
target: "{{ params.host }}"
tiers:
  - name: only
    steps:
      - name: say
        run: [echo, "{{ params.host }}"]
`;

let s: Surface;
beforeAll(async () => {
  s = await startSurface(
    { 'echo.yaml': RUNBOOK },
    ['auth:', '  webhook: { bearerTokenFile: token }', '  read: { bearerTokenFile: token }', '  operate: { bearerTokenFile: token }', 'limits: { headersTimeout: 1s, requestTimeout: 2s, maxConnections: 8 }'].join('\n'),
    { token: TOKEN },
  );
});
afterAll(async () => {
  await s.close();
});

const webhookHeaders = (extra: Record<string, string> = {}): Record<string, string> => ({ host: `127.0.0.1:${s.port}`, authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...extra });

function alertBody(instance: string): string {
  return JSON.stringify({
    version: '4',
    status: 'firing',
    groupKey: 'g',
    receiver: 'remediator',
    alerts: [{ status: 'firing', labels: { alertname: 'Echo', instance }, annotations: {}, startsAt: '2026-11-26T14:31:52.553Z', fingerprint: '00000000000000e1' }],
  });
}

async function decisions(): Promise<number> {
  const res = await rawRequest(s.port, 'GET', '/api/v1/decisions', { host: `127.0.0.1:${s.port}`, authorization: `Bearer ${TOKEN}` });
  return (JSON.parse(res.text) as { decisions: unknown[] }).decisions.length;
}

describe('bodies', () => {
  it('refuses a body that is not well-formed UTF-8 with 400 BAD_ENCODING, and decides nothing', async () => {
    const good = Buffer.from(alertBody('node-a'));
    const i = good.indexOf('node-a');
    const bad = Buffer.concat([good.subarray(0, i), Buffer.from([0x6e, 0xc3, 0x28]), good.subarray(i + 'node-a'.length)]);
    const res = await rawRequest(s.port, 'POST', '/api/v1/alerts', webhookHeaders(), bad);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'BAD_ENCODING' } });
    expect(await decisions()).toBe(0);
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['form-encoded', 'application/x-www-form-urlencoded'],
    ['JSON in Latin-1', 'application/json; charset=iso-8859-1'],
    ['no type', ''],
  ])('refuses a %s webhook body with 415 UNSUPPORTED_MEDIA_TYPE', async (_what, type) => {
    const headers = webhookHeaders({ 'content-type': type });
    if (type === '') delete headers['content-type'];
    const res = await rawRequest(s.port, 'POST', '/api/v1/alerts', headers, alertBody('node-b'));
    expect(res.status).toBe(415);
    expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    expect(await decisions()).toBe(0);
  });

  it('takes JSON declared as UTF-8, as Alertmanager may send it', async () => {
    const res = await rawRequest(s.port, 'POST', '/api/v1/alerts', webhookHeaders({ 'content-type': 'application/json; charset=UTF-8' }), alertBody('node-c'));
    expect(res.status).toBe(200);
  });

  it('answers a Content-Length of 100 MB with 413 at once and closes the connection, before the body arrives', async () => {
    const head = `POST /api/v1/alerts HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n{"version":`;
    // Far below the 2 s request timeout: the answer must not wait for the body or a deadline.
    const seen = await rawSocket(s.port, head, 1_500);
    expect(seen.received).toMatch(/^HTTP\/1\.1 413 /);
    expect(seen.received).toContain('BODY_TOO_LARGE');
    expect(seen.received.toLowerCase()).toContain('connection: close');
    expect(seen.closedAfterMs).not.toBeNull();
  });
});

describe('connections', () => {
  it('drops a client that has not sent its headers once limits.headersTimeout passed', async () => {
    const seen = await rawSocket(s.port, `GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nX-Slow: `, 10_000);
    expect(seen.closedAfterMs).not.toBeNull();
    // headersTimeout is 1 s and checked every second: closed well before Node's default ~40 s.
    expect(seen.closedAfterMs).toBeLessThan(5_000);
  });

  it('refuses connections beyond limits.maxConnections, and serves again once the idle ones are dropped', async () => {
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const sock = connect(s.port, '127.0.0.1');
        sock.on('error', () => undefined);
        await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
        sock.write(`GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\n`);
        idle.push(sock);
      }
      await new Promise((r) => setTimeout(r, 100));
      const beyond = await rawSocket(s.port, `GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nConnection: close\r\n\r\n`, 3_000);
      expect(beyond.received).toBe('');
      expect(beyond.closedAfterMs).not.toBeNull();
      const res = await waitForHealthy();
      expect(res).toBe(200);
      const metrics = await rawRequest(s.port, 'GET', '/metrics', { host: `127.0.0.1:${s.port}` });
      expect(metrics.text).toMatch(/remediator_http_refusals_total\{code="MAX_CONNECTIONS"\} [1-9]/);
    } finally {
      for (const sock of idle) sock.destroy();
    }
  });
});

async function waitForHealthy(): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return (await rawRequest(s.port, 'GET', '/-/healthy', { host: `127.0.0.1:${s.port}` })).status;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
