/** The service's life as a process: SIGTERM drains, SIGHUP reloads, one SQLite file serves one process. */

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { stopAll } from '../support/child.js';
import { startService, writeTokenFile, type ServiceHandle } from '../support/service.js';
import { makeTempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';
import { webhookBody } from './in-process.js';

const TOKEN = 'lifecycle-token';
const started: ServiceHandle[] = [];

afterEach(async () => {
  for (const s of started.splice(0)) await s.stop();
  await stopAll();
});

function folder(stepSeconds: number): string {
  const dir = makeTempDir('lifecycle');
  mkdirSync(path.join(dir, 'runbooks'));
  writeFileSync(
    path.join(dir, 'runbooks', 'slow.yaml'),
    `name: slow
faultClass: test
description: one slow step
match:
  - alertname = "Slow"
params:
  host: { from: labels.instance, pattern: '[a-z0-9-]+' }
target: "{{ params.host }}"
tiers:
  - name: only
    steps:
      - name: sleep
        run: [sleep, "${stepSeconds}"]
        timeout: 2m
`,
  );
  return dir;
}

async function start(dir: string, limits: Record<string, unknown>): Promise<ServiceHandle> {
  const tokenFile = writeTokenFile(dir, TOKEN);
  const auth = { bearerTokenFile: tokenFile };
  const service = await startService({
    dir,
    config: { runbooks: './runbooks', store: { url: 'sqlite:./data/remediator.db' }, auth: { webhook: auth, read: auth, operate: auth }, limits },
  });
  started.push(service);
  await service.waitReady();
  return service;
}

async function api(service: ServiceHandle, method: string, urlPath: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${service.url}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

async function runningRun(service: ServiceHandle, instance: string): Promise<string> {
  const res = await api(service, 'POST', '/api/v1/alerts', webhookBody([{ labels: { alertname: 'Slow', instance } }]));
  const runId = (res.json.runs as string[])[0] as string;
  await waitFor(async () => ((await api(service, 'GET', `/api/v1/runs/${runId}`)).json.state === 'running' ? true : undefined), {
    description: 'the run to start',
  });
  return runId;
}

describe('SIGTERM', () => {
  it('refuses new deliveries with 503 while a running step finishes within the grace', async () => {
    const dir = folder(2);
    const service = await start(dir, { shutdownGrace: '20s' });
    const runId = await runningRun(service, 'node-a');
    service.kill('SIGTERM');
    const refused = await waitFor(
      async () => {
        const res = await api(service, 'POST', '/api/v1/alerts', webhookBody([{ labels: { alertname: 'Slow', instance: 'node-b' }, fingerprint: '00000000000000bb' }]));
        return res.status === 503 ? res : undefined;
      },
      { description: 'a 503 while draining', timeoutMs: 5_000, intervalMs: 50 },
    );
    expect(refused.json).toMatchObject({ error: { code: 'SHUTTING_DOWN' } });
    expect(await service.exited).toMatchObject({ code: 0 });
    await service.restart();
    await service.waitReady();
    expect((await api(service, 'GET', `/api/v1/runs/${runId}`)).json).toMatchObject({ state: 'succeeded' });
  }, 60_000);

  it('kills a step that outlasts the grace and leaves its run to the next start, which ends it interrupted', async () => {
    const dir = folder(60);
    const service = await start(dir, { shutdownGrace: '1s', killGrace: '1s' });
    const runId = await runningRun(service, 'node-c');
    const asked = Date.now();
    service.kill('SIGTERM');
    await service.exited;
    expect(Date.now() - asked).toBeLessThan(15_000);
    await service.restart();
    await service.waitReady();
    const run = await waitFor(
      async () => {
        const r = (await api(service, 'GET', `/api/v1/runs/${runId}`)).json;
        return r.state === 'interrupted' ? r : undefined;
      },
      { description: 'the run to end interrupted', timeoutMs: 20_000 },
    );
    expect(run.reason).toBe('interrupted');
  }, 60_000);
});

describe('one SQLite file, one process', () => {
  it('refuses to start a second service on the same file', async () => {
    const dir = folder(1);
    await start(dir, {});
    const tokenFile = writeTokenFile(dir, TOKEN, 'second');
    const second = await startService({
      dir: makeTempDir('second'),
      config: {
        runbooks: path.join(dir, 'runbooks'),
        store: { url: `sqlite:${path.join(dir, 'data', 'remediator.db')}` },
        auth: { webhook: { bearerTokenFile: tokenFile } },
      },
    });
    started.push(second);
    expect(await second.exited).toMatchObject({ code: 1 });
    expect(second.logs()).toContain('held by another process');
  }, 60_000);
});

describe('SIGHUP', () => {
  it('reloads the runbooks, and keeps the previous ones in force when the new ones do not load', async () => {
    const dir = folder(1);
    const service = await start(dir, {});
    writeFileSync(path.join(dir, 'runbooks', 'second.yaml'), 'name: second\nfaultClass: test\ndescription: x\nmatch: ["alertname = \\"Two\\""]\ntarget: fixed\ntiers: [{ name: t, steps: [{ name: s, run: ["true"] }] }]\n');
    service.kill('SIGHUP');
    await waitFor(async () => (((await api(service, 'GET', '/api/v1/runbooks')).json.runbooks as unknown[]).length === 2 ? true : undefined), {
      description: 'two runbooks after SIGHUP',
    });
    writeFileSync(path.join(dir, 'runbooks', 'third.yaml'), 'name: third\nunknown: key\n');
    service.kill('SIGHUP');
    const status = await waitFor(
      async () => {
        const json = (await api(service, 'GET', '/api/v1/runbooks')).json as { lastReload: { success: boolean; error: string | null }; runbooks: unknown[] };
        return json.lastReload.success ? undefined : json;
      },
      { description: 'a failed reload' },
    );
    expect(status.runbooks).toHaveLength(2);
    expect(status.lastReload.error).toContain('third.yaml:2:1');
  }, 60_000);
});
