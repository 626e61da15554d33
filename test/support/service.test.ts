import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { isAlive, stopAll } from './child.js';
import { startService, writeTokenFile } from './service.js';
import type { ServiceHandle } from './service.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';

const RUNBOOK = `name: harness-echo
faultClass: probe
description: A harmless runbook so that the catalog is not empty
match:
  - alertname = "HarnessEcho"
target: harness
tiers:
  - name: local
    steps:
      - name: echo
        run: [echo, hello]
`;

afterAll(stopAll);

describe('startService', () => {
  const dir = makeTempDir('service-test');
  let service: ServiceHandle;

  afterAll(async () => {
    await service?.stop();
    removeTempDir(dir);
  });

  it('starts the built service on a free port and waits until it is ready', async () => {
    fs.mkdirSync(path.join(dir, 'runbooks'));
    fs.writeFileSync(path.join(dir, 'runbooks', 'harness-echo.yaml'), RUNBOOK);
    service = await startService({
      config: {
        runbooks: path.join(dir, 'runbooks'),
        store: { url: `sqlite:${path.join(dir, 'remediator.db')}` },
        auth: { webhook: { bearerTokenFile: writeTokenFile(dir, 'hook-token', 'webhook') } },
        limits: { shutdownGrace: '2s', killGrace: '1s' },
      },
      dir,
    });
    await service.waitReady();
    expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const healthy = await fetch(`${service.url}/-/healthy`);
    expect(healthy.status).toBe(200);
  });

  it('exposes a service whose webhook refuses a wrong bearer token', async () => {
    const res = await fetch(`${service.url}/api/v1/alerts`, {
      method: 'POST',
      headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(401);
  });

  it('restarts the service on the same address after kill -9', async () => {
    const before = { pid: service.pid, url: service.url };
    service.kill('SIGKILL');
    expect((await service.exited).signal).toBe('SIGKILL');
    await service.restart();
    await service.waitReady();
    expect(service.pid).not.toBe(before.pid);
    expect(service.url).toBe(before.url);
  });

  it('stops the service on SIGTERM so that its PID is gone', async () => {
    const pid = service.pid;
    const exit = await service.stop();
    expect(exit.signal === 'SIGKILL').toBe(false);
    expect(isAlive(pid)).toBe(false);
    expect(service.logs().length).toBeGreaterThan(0);
  });
});
