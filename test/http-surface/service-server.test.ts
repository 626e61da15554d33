/** The built service (`remediator serve`) applies the HTTP server's limits and the Host allow-list as main.ts wires them. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startService, type ServiceHandle } from '../support/service.js';
import { makeTempDir } from '../support/temp-dir.js';
import { rawRequest, rawSocket } from './surface.js';

let service: ServiceHandle;
let port = 0;
beforeAll(async () => {
  const dir = makeTempDir('service-server');
  service = await startService({
    dir,
    config: {
      runbooks: makeTempDir('no-runbooks'),
      store: { url: `sqlite:${dir}/remediator.db` },
      limits: { headersTimeout: '1s', requestTimeout: '2s', maxConnections: 8 },
    },
  });
  await service.waitReady();
  port = Number(new URL(service.url).port);
}, 40_000);
afterAll(async () => {
  await service.stop();
});

describe('the served process', () => {
  it('drops a client that never finishes its headers within limits.headersTimeout', async () => {
    const seen = await rawSocket(port, `GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`, 10_000);
    expect(seen.closedAfterMs).not.toBeNull();
    expect(seen.closedAfterMs).toBeLessThan(5_000);
  });

  it('refuses a rebinding Host and logs the names it serves at start-up', async () => {
    const res = await rawRequest(port, 'GET', '/runs', { host: `evil.example:${port}` });
    expect(res.status).toBe(421);
    const serving = service.logRecords().find((l) => l.msg === 'remediator serving');
    expect(serving?.hosts).toEqual(expect.arrayContaining(['localhost']));
  });

  it('answers an oversized declared body 413 at once', async () => {
    const seen = await rawSocket(port, `POST /api/v1/alerts HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{`, 1_500);
    expect(seen.received).toMatch(/^HTTP\/1\.1 413 /);
  });
});
