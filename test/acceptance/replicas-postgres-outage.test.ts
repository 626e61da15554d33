/**
 * PostgreSQL stopped for 30 s under a steady stream of fresh alerts to two replicas: while it is down every webhook answer
 * is 503 (Alertmanager retries those), the replicas are ready again soon after it returns, every acknowledged alert gets
 * exactly one run, the refused ones get theirs when re-sent, and nothing runs twice.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type { RunSummary } from '../../src/core/run.js';
import { stopAll } from '../support/child.js';
import { answers200 } from '../support/http.js';
import { startPostgres, type PostgresCluster } from '../support/postgres.js';
import { fingerprintOf, ledgerCounts, ledgerStep, ranTwice, readLedger, startReplicas, type Replica, type ReplicaSet } from '../support/replicas.js';
import { sleep, waitFor } from '../support/wait-for.js';
import { webhookBody } from './in-process.js';

const OUTAGE_MS = 30_000;
const BEFORE_MS = 4_000;
const AFTER_MS = 4_000;
/** A fresh alert every this long, to the two replicas in turn. */
const EVERY_MS = 250;
/** Fresh alerts sent at once just before the database stops. */
const BURST = 24;
const RUNBOOK = 'outage';
const tag = randomBytes(3).toString('hex');
let cluster: PostgresCluster | null = null;
let set: ReplicaSet | null = null;
/** When the load began, for the times in failure messages. */
let t0 = 0;
/** The load loop runs while this holds; afterAll clears it when the test failed half-way. */
let sending = false;

const runbook = (ledger: string): string => `name: ${RUNBOOK}
faultClass: test
description: appends one ledger line per execution
match:
  - alertname = "Outage"
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
`;

/**
 * The cluster's stop() is an immediate shutdown (a crash): with synchronous_commit off, commits acknowledged in its last
 * moments would be lost, which would say nothing about remediator. This database commits durably whatever the cluster's
 * default, and says so before the test relies on it.
 */
async function durableDatabase(db: PostgresCluster): Promise<string> {
  const url = await db.createDatabase('replicas_outage');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const name = (await client.query<{ name: string }>('SELECT current_database() AS name')).rows[0]?.name ?? '';
    await client.query(`ALTER DATABASE "${name}" SET synchronous_commit = on`);
  } finally {
    await client.end();
  }
  const check = new pg.Client({ connectionString: url });
  await check.connect();
  try {
    expect((await check.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]?.synchronous_commit).toBe('on');
  } finally {
    await check.end();
  }
  return url;
}

beforeAll(async () => {
  cluster = await startPostgres();
  set = await startReplicas({
    count: 2,
    storeUrl: await durableDatabase(cluster),
    runbooks: (ledger) => ({ 'outage.yaml': runbook(ledger) }),
    config: { limits: { maxRunStartsPerMinute: 100_000, lease: '5s' } },
  });
}, 120_000);

afterAll(async () => {
  sending = false;
  await set?.stop();
  await stopAll();
  cluster?.destroy();
});

interface Delivery {
  readonly instance: string;
  readonly body: Record<string, unknown>;
  readonly replica: string;
  readonly sentAt: number;
  answeredAt: number;
  /** The HTTP status; 0 when no answer came (a network error or the 10 s timeout). */
  status: number;
  text: string;
}

function alertBody(i: number): { instance: string; body: Record<string, unknown> } {
  const labels = { alertname: 'Outage', instance: `out-${tag}-${i}` };
  const startsAt = new Date(Date.UTC(2026, 10, 26, 15, 0, 0, i)).toISOString();
  return { instance: labels.instance, body: webhookBody([{ labels, startsAt, fingerprint: fingerprintOf(labels) }]) };
}

async function deliver(replica: Replica, instance: string, body: Record<string, unknown>): Promise<Delivery> {
  const d: Delivery = { instance, body, replica: replica.name, sentAt: Date.now(), answeredAt: 0, status: 0, text: '' };
  try {
    const answer = await replica.api('POST', '/api/v1/alerts', body, 10_000);
    d.status = answer.status;
    d.text = answer.text.slice(0, 300);
  } catch (thrown) {
    d.text = String(thrown);
  }
  d.answeredAt = Date.now();
  return d;
}

const describeDelivery = (d: Delivery): string => `${d.instance} on ${d.replica} sent +${d.sentAt - t0}ms answered +${d.answeredAt - t0}ms: ${d.status} ${d.text}`;

describe('PostgreSQL stopped for 30 s under load, two replicas', () => {
  it('answers 503 while it is down, recovers within 10 s, and runs every alert exactly once', async () => {
    const replicas = set?.replicas ?? [];
    const db = cluster;
    if (db === null || replicas.length !== 2) throw new Error('no cluster or replicas');
    const inFlight: Promise<Delivery>[] = [];
    let i = 0;
    sending = true;
    // A replica must ride the outage out: one that exits fails the test at once, with its last words.
    const exits: string[] = [];
    for (const r of replicas) {
      void r.service.exited.then((e) => exits.push(`${r.name} exited (code ${e.code}, signal ${e.signal}) under the outage:\n${r.service.logs().slice(-4000)}`));
    }
    const crashed = (): string | undefined => exits[0];
    const assertAlive = (): void => {
      if (exits.length > 0) throw new Error(exits.join('\n'));
    };
    t0 = Date.now();
    const loop = (async () => {
      while (sending) {
        const { instance, body } = alertBody(i);
        inFlight.push(deliver(replicas[i % 2] as Replica, instance, body));
        i++;
        await sleep(EVERY_MS);
      }
    })();

    await sleep(BEFORE_MS);
    // The database goes while deliveries are mid-transaction: a burst of fresh alerts, one of them answered already.
    const burst = Array.from({ length: BURST }, () => {
      const { instance, body } = alertBody(i);
      return deliver(replicas[i++ % 2] as Replica, instance, body);
    });
    inFlight.push(...burst);
    await Promise.race(burst);
    const stopCalledAt = Date.now();
    db.stop();
    const stoppedAt = Date.now();
    await waitFor(async () => {
      const res = await fetch(`${replicas[0]?.service.url ?? ''}/-/ready`, { signal: AbortSignal.timeout(5_000) });
      return res.status === 503 ? true : undefined;
    }, { description: '/-/ready to answer 503 while PostgreSQL is down', timeoutMs: 10_000, abortIf: crashed });
    await sleep(OUTAGE_MS - (Date.now() - stoppedAt));
    assertAlive();
    const startCalledAt = Date.now();
    db.start();
    const startedAt = Date.now();
    await Promise.all(
      replicas.map((r) => waitFor(() => answers200(`${r.service.url}/-/ready`), { description: `${r.name} ready after PostgreSQL returned`, timeoutMs: 10_000, intervalMs: 100, abortIf: crashed })),
    );
    const readyMs = Date.now() - startedAt;
    const readyAt = Date.now();
    await sleep(AFTER_MS);
    sending = false;
    await loop;
    const deliveries = await Promise.all(inFlight);
    assertAlive();

    // Never a 4xx, never anything but 200 or 503, and always an answer.
    expect(deliveries.filter((d) => d.status !== 200 && d.status !== 503).map(describeDelivery)).toEqual([]);
    const before = deliveries.filter((d) => d.answeredAt < stopCalledAt);
    const down = deliveries.filter((d) => d.sentAt >= stoppedAt && d.answeredAt <= startCalledAt);
    const after = deliveries.filter((d) => d.sentAt >= readyAt);
    expect(before.length).toBeGreaterThan(5);
    expect(down.length).toBeGreaterThan(50);
    expect(after.length).toBeGreaterThan(5);
    expect(before.filter((d) => d.status !== 200).map(describeDelivery)).toEqual([]);
    expect(down.filter((d) => d.status !== 503).map(describeDelivery)).toEqual([]);
    expect(after.filter((d) => d.status !== 200).map(describeDelivery)).toEqual([]);

    // As Alertmanager does: what was refused is sent again, until it is taken.
    const refused = deliveries.filter((d) => d.status !== 200);
    const resent = await Promise.all(
      refused.map((d, k) =>
        waitFor(
          async () => {
            const again = await deliver(replicas[k % 2] as Replica, d.instance, d.body);
            return again.status === 200 ? again : undefined;
          },
          { description: `the re-sent ${d.instance} to be taken`, timeoutMs: 20_000, intervalMs: 500 },
        ),
      ),
    );
    expect(resent).toHaveLength(refused.length);

    const instances = deliveries.map((d) => d.instance);
    const reader = replicas[0] as Replica;
    let states = '';
    const runs = await waitFor(
      async () => {
        const all = await reader.listAll<RunSummary>(`/api/v1/runs?runbook=${RUNBOOK}`, 'runs');
        const counts = new Map<string, number>();
        for (const r of all) counts.set(`${r.state}/${r.reason ?? ''}`, (counts.get(`${r.state}/${r.reason ?? ''}`) ?? 0) + 1);
        const have = new Set(all.map((r) => r.target));
        const missing = deliveries.filter((d) => !have.has(d.instance)).map(describeDelivery);
        states = `${JSON.stringify([...counts])} missing: ${JSON.stringify(missing)} decisions: ${JSON.stringify(
          (await reader.listAll<Record<string, unknown>>('/api/v1/decisions', 'decisions')).filter((d) => d.decision !== 'run'),
        )}`;
        return all.length >= instances.length && all.every((r) => !['pending', 'running'].includes(r.state)) ? all : undefined;
      },
      {
        description: `a finished run for each of the ${instances.length} alerts`,
        timeoutMs: 60_000,
        intervalMs: 1_000,
        context: () => `runs by state: ${states}\n${replicas.map((r) => r.service.logs().slice(-3000)).join('\n----\n')}`,
      },
    );
    const runsPerTarget = new Map<string, RunSummary[]>();
    for (const r of runs) runsPerTarget.set(r.target, [...(runsPerTarget.get(r.target) ?? []), r]);
    expect([...runsPerTarget.keys()].sort()).toEqual([...instances].sort());
    expect([...runsPerTarget].filter(([, rs]) => rs.length !== 1).map(([t, rs]) => `${t}: ${rs.length} runs`)).toEqual([]);

    const ledger = readLedger(set?.ledger ?? '');
    expect(ranTwice(ledger, 'exec')).toEqual([]);
    const executed = ledgerCounts(ledger, 'exec');
    // A run whose step was under way when the database went cannot record its end, loses its lease during the outage and is
    // reclaimed as interrupted (its step is not idempotent, so it is not run again). Every run started after the outage
    // succeeded, and each succeeded run executed exactly once.
    const notSucceeded = runs.filter((r) => r.state !== 'succeeded');
    const describeRun = (r: RunSummary): string => `${r.target} ${r.state} ${r.reason ?? ''} started ${r.startedAt ?? 'never'} ended ${r.endedAt ?? '-'}`;
    expect(notSucceeded.filter((r) => r.state !== 'interrupted' || r.startedAt === null || Date.parse(r.startedAt) > stoppedAt).map(describeRun)).toEqual([]);
    expect(runs.filter((r) => r.state === 'succeeded' && executed.get(r.target) !== 1).map((r) => r.target)).toEqual([]);
    process.stdout.write(
      `replicas-postgres-outage: ${deliveries.length} alerts, ${refused.length} refused and re-sent, ready ${readyMs} ms after start, ${notSucceeded.length} interrupted ${JSON.stringify(notSucceeded.map(describeRun))}\n`,
    );
  }, 180_000);
});
