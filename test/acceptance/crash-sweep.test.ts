/** kill -9 of the service while a step's daemons run: the restart's sweep kills every one of them, setsid and all. */

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { detectContainment } from '../../src/execute/containment/detect-containment.js';
import { stopAll } from '../support/child.js';
import { startService, writeTokenFile, type ServiceHandle } from '../support/service.js';
import { makeTempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';
import { ESCAPES, killDaemons, liveDaemons, uniqueBase } from '../execute/daemons.js';
import { fixtureScript } from '../execute/processes.js';
import { webhookBody } from './in-process.js';

const TOKEN = 'crash-sweep-token';
const base = uniqueBase();
let service: ServiceHandle | null = null;

afterAll(async () => {
  await service?.stop();
  await stopAll();
  killDaemons(base);
});

async function api(method: string, urlPath: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${service?.url ?? ''}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as Record<string, unknown>;
}

describe('the start-up sweep after kill -9', () => {
  it('kills the setsid, double-forked and set -m daemons of the step that was running', async () => {
    const dir = makeTempDir('crash-sweep');
    const ready = path.join(dir, 'daemons-ready');
    mkdirSync(path.join(dir, 'runbooks'));
    writeFileSync(
      path.join(dir, 'runbooks', 'daemons.yaml'),
      `name: daemons
faultClass: test
description: starts processes that try to outlive it, then sleeps
match:
  - alertname = "Daemons"
params:
  host: { from: labels.instance, pattern: '[a-z0-9-]+' }
target: "{{ params.host }}"
tiers:
  - name: only
    steps:
      - name: start
        run: [${JSON.stringify(fixtureScript('start-daemons.sh'))}, "${base}", ${JSON.stringify(ready)}, "300"]
        timeout: 10m
`,
    );
    const auth = { bearerTokenFile: writeTokenFile(dir, TOKEN) };
    service = await startService({
      dir,
      config: { runbooks: './runbooks', store: { url: 'sqlite:./data/remediator.db' }, auth: { webhook: auth, read: auth, operate: auth }, limits: { killGrace: '1s' } },
    });
    await service.waitReady();
    const expected = detectContainment().kind;
    expect(service.logRecords()).toContainEqual(expect.objectContaining({ msg: 'local step containment', containment: expected }));

    const answer = await api('POST', '/api/v1/alerts', webhookBody([{ labels: { alertname: 'Daemons', instance: 'node-a' } }]));
    const runId = (answer.runs as string[])[0] ?? '';
    await waitFor(() => (existsSync(ready) ? true : undefined), { description: 'the step to start its daemons', context: () => service?.logs() ?? '' });
    expect([...liveDaemons(base).keys()].sort()).toEqual([...ESCAPES].sort());

    service.kill('SIGKILL');
    await service.exited;
    // Nothing of ours is left to kill them: they outlive the service until its next start.
    expect(liveDaemons(base).size).toBe(ESCAPES.length);

    await service.restart();
    await service.waitReady();
    const left = await waitFor(
      () => {
        const now = liveDaemons(base);
        return expected === 'process-group' || now.size === 0 ? now : undefined;
      },
      { description: 'every daemon gone after the sweep', timeoutMs: 20_000, intervalMs: 100, context: () => JSON.stringify([...liveDaemons(base)]) },
    );
    // The process-group fallback reaches only what stayed in the group (README: setsid and set -m escape it).
    expect([...left.keys()].sort()).toEqual(expected === 'process-group' ? ['set -m', 'setsid &', 'setsid -f'] : []);
    const run = await waitFor(
      async () => {
        const r = await api('GET', `/api/v1/runs/${runId}`);
        return r.state === 'interrupted' ? r : undefined;
      },
      { description: 'the run to end interrupted', timeoutMs: 20_000 },
    );
    expect(run.reason).toBe('interrupted');
  }, 90_000);
});
