/** Against DNS rebinding: only the service's own Host names are served; probes keep working under any name. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rawRequest, startSurface, type Surface } from './surface.js';

const TOKEN = 'surface-token-0123456789';
let s: Surface;
beforeAll(async () => {
  s = await startSurface(
    {},
    [
      'publicURL: https://remediator.public.example',
      'allowedHosts: ["remediator.example.internal", "*.corp.example"]',
      'auth:',
      '  webhook: { bearerTokenFile: token }',
      '  read: { bearerTokenFile: token }',
      '  operate: { bearerTokenFile: token }',
    ].join('\n'),
    { token: TOKEN },
  );
});
afterAll(async () => {
  await s.close();
});

const body = JSON.stringify({ version: '4', status: 'firing', alerts: [] });
const post = (host: string) => rawRequest(s.port, 'POST', '/api/v1/alerts', { host, authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body);
const page = (host: string) => rawRequest(s.port, 'GET', '/runs', { host, authorization: `Bearer ${TOKEN}` });

describe('the Host allow-list', () => {
  it.each([
    ['a rebinding name', 'evil.example:PORT'],
    ['a rebinding name without a port', 'attacker.example'],
    ['a look-alike of an allowed name', 'remediator.example.internal.evil.example:PORT'],
    ['the bare parent of a wildcard entry', 'corp.example:PORT'],
  ])('refuses %s with 421 HOST_NOT_ALLOWED on the webhook and the pages', async (_what, host) => {
    const h = host.replace('PORT', String(s.port));
    for (const res of [await post(h), await page(h)]) {
      expect(res.status).toBe(421);
      expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'HOST_NOT_ALLOWED' } });
    }
  });

  it.each([
    ['the listen address', '127.0.0.1:PORT'],
    ['localhost on another port (a port-forward)', 'localhost:18080'],
    ['IPv6 loopback', '[::1]:PORT'],
    ["the pod's own IP, as a probe or a scrape names it", '10.1.2.3:9095'],
    ["publicURL's host behind a proxy", 'remediator.public.example'],
    ['a configured name, any case', 'Remediator.Example.Internal:PORT'],
    ['a name under a configured wildcard', 'a.b.corp.example:443'],
  ])('serves %s', async (_what, host) => {
    const h = host.replace('PORT', String(s.port));
    expect((await post(h)).status).toBe(200);
    expect((await page(h)).status).toBe(200);
  });

  it('answers the probes and the scrape under any name, since Kubernetes and Prometheus choose it', async () => {
    for (const p of ['/-/healthy', '/-/ready', '/metrics']) {
      expect((await rawRequest(s.port, 'GET', p, { host: 'whatever.example:9095' })).status).toBe(200);
    }
  });
});

describe('refused credentials', () => {
  it('logs one warning for a burst of 401s, and counts every one', async () => {
    for (let i = 0; i < 40; i++) {
      const res = await rawRequest(s.port, 'POST', '/api/v1/alerts', { host: `127.0.0.1:${s.port}`, authorization: 'Bearer wrong', 'content-type': 'application/json' }, body);
      expect(res.status).toBe(401);
    }
    const warnings = s.logs().filter((l) => l.code === 'UNAUTHORIZED');
    // The window is 10 s and the burst takes well under it.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, msg: 'request refused', path: '/api/v1/alerts', suppressed: 0 });
    const metrics = await rawRequest(s.port, 'GET', '/metrics', { host: `127.0.0.1:${s.port}` });
    expect(metrics.text).toMatch(/remediator_http_refusals_total\{code="UNAUTHORIZED"\} 40\b/);
  });
});
