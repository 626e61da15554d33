/** kill -9 of the service while alerts pour in: no acknowledged alert is lost, no run is executed twice. */

import { mkdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { stopAll } from '../support/child.js';
import { startService, writeTokenFile, type ServiceHandle } from '../support/service.js';
import { makeTempDir } from '../support/temp-dir.js';
import { sleep, waitFor } from '../support/wait-for.js';
import { webhookBody } from './in-process.js';

const TOKEN = 'crash-test-token';
let service: ServiceHandle | null = null;

afterAll(async () => {
  await service?.stop();
  await stopAll();
});

interface Page<T> {
  nextCursor: string | null;
  runs?: T[];
  decisions?: T[];
}

async function getAll<T>(url: string, key: 'runs' | 'decisions'): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const res = await fetch(`${url}/api/v1/${key}?limit=500${q}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const page = (await res.json()) as Page<T>;
    items.push(...(page[key] ?? []));
    cursor = page.nextCursor;
  } while (cursor !== null);
  return items;
}

describe('kill -9 under load', () => {
  it('keeps every acknowledged alert and never executes a run twice', async () => {
    const dir = makeTempDir('crash');
    const ledger = path.join(dir, 'ledger');
    mkdirSync(path.join(dir, 'runbooks'));
    writeFileSync(
      path.join(dir, 'runbooks', 'crash.yaml'),
      `name: crash
faultClass: test
description: appends its run id to a ledger, then takes a moment
match:
  - alertname = "Crash"
params:
  host: { from: labels.instance, pattern: 'host-[0-9]+' }
target: "{{ params.host }}"
safety: { fleetBreaker: { maxTargets: 100000, per: 1m } }
tiers:
  - name: only
    steps:
      - name: ledger
        run: [bash, -c, 'echo "$RUN_ID" >> ${ledger}; sleep 0.2']
`,
    );
    const tokenFile = writeTokenFile(dir, TOKEN);
    service = await startService({
      dir,
      config: {
        runbooks: './runbooks',
        store: { url: 'sqlite:./data/remediator.db' },
        auth: { webhook: { bearerTokenFile: tokenFile }, read: { bearerTokenFile: tokenFile }, operate: { bearerTokenFile: tokenFile } },
        limits: { maxConcurrentRuns: 8, lease: '3s', killGrace: '1s', maxRunStartsPerMinute: 1000 },
      },
    });
    await service.waitReady();

    const acknowledged: string[] = [];
    let n = 0;
    let killed = false;
    const post = async (i: number): Promise<void> => {
      const fingerprint = i.toString(16).padStart(16, '0');
      const body = webhookBody([{ labels: { alertname: 'Crash', instance: `host-${i}` }, fingerprint }]);
      try {
        const res = await fetch(`${service?.url}/api/v1/alerts`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(2_000),
        });
        if (res.status >= 200 && res.status < 300) acknowledged.push(fingerprint);
      } catch {
        // Refused or cut off by the kill: not acknowledged, so Alertmanager would retry it.
      }
    };
    const inFlight: Promise<void>[] = [];
    const started = Date.now();
    while (Date.now() - started < 3_000) {
      if (!killed && Date.now() - started > 1_500) {
        service.kill('SIGKILL');
        killed = true;
      }
      inFlight.push(post(n++));
      // 50 deliveries a second, each a distinct alert.
      await sleep(Math.max(0, started + n * 20 - Date.now()));
    }
    await Promise.all(inFlight);
    await service.exited;
    // Enough load to matter: about 75 sent before the kill; the whole suite on 2 cores once acknowledged 34 of them.
    expect(acknowledged.length).toBeGreaterThan(20);

    await service.restart();
    await service.waitReady();
    const url = service.url;
    const decisions = await getAll<{ fingerprint: string; runId: string | null }>(url, 'decisions');
    const decided = new Set(decisions.map((d) => d.fingerprint));
    expect(acknowledged.filter((f) => !decided.has(f))).toEqual([]);

    const runs = await waitFor(
      async () => {
        const all = await getAll<{ id: string; state: string }>(url, 'runs');
        return all.every((r) => !['pending', 'running'].includes(r.state)) ? all : undefined;
      },
      { description: 'every run to end after the restart', timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(runs.length).toBeGreaterThanOrEqual(acknowledged.length);
    const lines = existsSync(ledger) ? readFileSync(ledger, 'utf8').trim().split('\n').filter(Boolean) : [];
    const counts = new Map<string, number>();
    for (const id of lines) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts.entries()].filter(([, c]) => c > 1)).toEqual([]);
    for (const run of runs.filter((r) => r.state === 'succeeded')) expect(counts.get(run.id)).toBe(1);
    expect(runs.filter((r) => !['succeeded', 'interrupted'].includes(r.state))).toEqual([]);
  }, 120_000);
});
