/**
 * Retention on two replicas on one PostgreSQL: ended runs older than `retention` are pruned (by the leader, in batches)
 * while deliveries keep arriving; the webhook and the runs API keep answering, and the metric and the log say what went.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RunSummary } from '../../src/core/run.js';
import { stopAll } from '../support/child.js';
import { testDatabase } from '../support/postgres.js';
import { fingerprintOf, ledgerStep, startReplicas, type ReplicaSet } from '../support/replicas.js';
import { waitFor } from '../support/wait-for.js';
import { webhookBody } from './in-process.js';

const RETENTION_S = 4;
const tag = randomBytes(3).toString('hex');
let set: ReplicaSet | null = null;

beforeAll(async () => {
  set = await startReplicas({
    count: 2,
    storeUrl: await testDatabase('retention'),
    runbooks: (ledger) => ({
      'kept-briefly.yaml': `name: kept-briefly
faultClass: test
description: one quick step
match:
  - alertname = "Retained"
params:
  host: { from: labels.instance, pattern: '^[a-z0-9-]{1,64}$' }
target: "{{ params.host }}"
safety:
  fleetBreaker: { maxTargets: 100000, per: 10m }
tiers:
  - name: only
    steps:
      - name: record
        run: ${ledgerStep(ledger, 'exec', '{{ params.host }}')}
`,
    }),
    config: { retention: `${RETENTION_S}s`, limits: { maxRunStartsPerMinute: 100_000 } },
  });
}, 120_000);

afterAll(async () => {
  await set?.stop();
  await stopAll();
});

function alert(i: number, wave: string): { labels: Record<string, string>; startsAt: string; fingerprint: string } {
  const labels = { alertname: 'Retained', instance: `ret-${tag}-${wave}-${i}` };
  return { labels, startsAt: new Date().toISOString(), fingerprint: fingerprintOf(labels) };
}

describe('retention on replicas under load', () => {
  it('prunes ended runs past retention while the webhook and the runs API keep answering', async () => {
    const [a, b] = set?.replicas ?? [];
    if (a === undefined || b === undefined) throw new Error('replicas did not start');
    const old: string[] = [];
    for (let i = 0; i < 40; i += 10) {
      const answer = await a.api('POST', '/api/v1/alerts', webhookBody(Array.from({ length: 10 }, (_, k) => alert(i + k, 'old'))));
      expect(answer.status).toBe(200);
      old.push(...((answer.json as { runs: string[] }).runs));
    }
    expect(old).toHaveLength(40);
    await waitFor(
      async () => {
        const runs = await a.listAll<RunSummary>('/api/v1/runs?runbook=kept-briefly', 'runs');
        return runs.filter((r) => old.includes(r.id)).every((r) => r.state === 'succeeded') ? true : undefined;
      },
      { description: 'the first wave to end', timeoutMs: 30_000 },
    );

    // Load while the first wave ages past retention: new episodes and API reads through both replicas.
    const statuses: number[] = [];
    let wave = 0;
    let loading = true;
    const load = (async () => {
      while (loading) {
        const target = wave % 2 === 0 ? a : b;
        const posted = await target.api('POST', '/api/v1/alerts', webhookBody([alert(wave, 'new')]));
        const listed = await target.api('GET', '/api/v1/runs?limit=50');
        statuses.push(posted.status, listed.status);
        wave++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      await waitFor(async () => ((await a.api('GET', `/api/v1/runs/${old[0] ?? ''}`)).status === 404 ? true : undefined), {
        description: 'the first wave pruned',
        timeoutMs: (RETENTION_S + 15) * 1000,
        intervalMs: 250,
      });
      await waitFor(
        async () => {
          const gone = await Promise.all(old.map(async (id) => (await b.api('GET', `/api/v1/runs/${id}`)).status));
          return gone.every((s) => s === 404) ? true : undefined;
        },
        { description: 'every run of the first wave pruned', timeoutMs: 15_000 },
      );
      // Enough deliveries and reads around the pruning to show they were served throughout, however fast it went.
      await waitFor(() => (wave > 10 ? true : undefined), { description: 'ten rounds of load', timeoutMs: 30_000, intervalMs: 50 });
    } finally {
      loading = false;
      await load;
    }
    expect(wave).toBeGreaterThan(10);
    expect(new Set(statuses)).toEqual(new Set([200]));
    // The decisions of the pruned runs went with them; what the load made is still there (newer than retention or active).
    const decisions = await a.listAll<{ runId: string | null }>('/api/v1/decisions', 'decisions');
    expect(decisions.filter((d) => d.runId !== null && old.includes(d.runId))).toEqual([]);
    // One replica pruned them (the leader): the metric counts them once across both.
    const pruned = await Promise.all(
      [a, b].map(async (r) => Number(/^remediator_pruned_total\{kind="runs"\} (\S+)$/m.exec((await r.api('GET', '/metrics')).text)?.[1] ?? 'NaN')),
    );
    expect(pruned.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(40);
    const logged = [a, b].flatMap((r) => r.service.logRecords()).filter((l) => l.msg === 'pruned what is older than retention');
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.reduce((n, l) => n + Number(l.runs), 0)).toBeGreaterThanOrEqual(40);
  }, 120_000);
});
