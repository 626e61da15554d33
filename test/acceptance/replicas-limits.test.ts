/**
 * Three replicas on one PostgreSQL, every alert delivered to one of them at random, all at once: runs of two runbooks on
 * one target never overlap (their steps' own timestamps say so), a pool of maxConcurrentPerPool 2 never has three
 * running, the fleet breaker lets through no more targets than it allows, and the run-start rate limit holds fleet-wide.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Decision, RunSummary } from '../../src/core/run.js';
import { stopAll } from '../support/child.js';
import { testDatabase } from '../support/postgres.js';
import { fingerprintOf, ledgerStep, readLedger, startReplicas, type LedgerLine, type Replica, type ReplicaSet } from '../support/replicas.js';
import { waitFor } from '../support/wait-for.js';
import { webhookBody } from './in-process.js';

const TARGETS = 6;
const HOLD_S = 0.4;
const BREAKER_MAX = 3;
const RATE = 20;
const tag = randomBytes(3).toString('hex');
let set: ReplicaSet | null = null;

/** A runbook whose one tier records `start`, holds, records `end`; the ledger id is `<target>/<runbook>/<run id>`. */
function runbook(ledger: string, name: string, alertname: string, safety: string, pool = ''): string {
  const id = `{{ target }}/${name}/{{ run.id }}`;
  return `name: ${name}
faultClass: test
description: records when its step starts and ends
match:
  - alertname = "${alertname}"
params:
  host: { from: labels.instance, pattern: '^[a-z0-9-]{1,64}$' }
target: "{{ params.host }}"
${pool}
safety: { cooldown: 0s, maxAttempts: { count: 100, per: 1h }, ${safety} }
tiers:
  - name: only
    steps:
      - { name: start, run: ${ledgerStep(ledger, 'start', id)} }
      - { name: hold, run: ["sleep", "${HOLD_S}"] }
      - { name: end, run: ${ledgerStep(ledger, 'end', id)} }
`;
}

beforeAll(async () => {
  set = await startReplicas({
    count: 3,
    storeUrl: await testDatabase('replicas_limits'),
    runbooks: (ledger) => ({
      'alpha.yaml': runbook(ledger, 'alpha', 'Shared', 'fleetBreaker: { maxTargets: 100, per: 10m }, maxConcurrentPerPool: 2', 'pool: "rack-1"'),
      'beta.yaml': runbook(ledger, 'beta', 'Shared', 'fleetBreaker: { maxTargets: 100, per: 10m }, maxConcurrentPerPool: 2', 'pool: "rack-1"'),
      'gamma.yaml': runbook(ledger, 'gamma', 'Breaker', `fleetBreaker: { maxTargets: ${BREAKER_MAX}, per: 10m }`),
      'delta.yaml': runbook(ledger, 'delta', 'Rated', 'fleetBreaker: { maxTargets: 100, per: 10m }'),
    }),
    config: { limits: { maxRunStartsPerMinute: RATE, maxConcurrentRuns: 8 } },
  });
}, 120_000);

afterAll(async () => {
  await set?.stop();
  await stopAll();
});

function alert(alertname: string, instance: string): { labels: Record<string, string>; startsAt: string; fingerprint: string } {
  const labels = { alertname, instance };
  return { labels, startsAt: new Date().toISOString(), fingerprint: fingerprintOf(labels) };
}

/** Each alert in its own delivery, to a replica picked at random, all at once. */
async function deliverSpread(replicas: readonly Replica[], alerts: ReturnType<typeof alert>[]): Promise<void> {
  const answers = await Promise.all(alerts.map((a) => (replicas[randomInt(replicas.length)] as Replica).api('POST', '/api/v1/alerts', webhookBody([a]))));
  expect(answers.map((a) => a.status)).toEqual(alerts.map(() => 200));
}

interface Interval {
  readonly target: string;
  readonly runbook: string;
  readonly start: bigint;
  readonly end: bigint;
}

function intervals(lines: readonly LedgerLine[]): Interval[] {
  const starts = new Map(lines.filter((l) => l.event === 'start').map((l) => [l.id, l.ns]));
  return lines
    .filter((l) => l.event === 'end')
    .map((l) => {
      const [target = '', runbook = ''] = l.id.split('/');
      return { target, runbook, start: starts.get(l.id) ?? 0n, end: l.ns };
    });
}

/** The most intervals open at one instant. */
function maxConcurrent(list: readonly Interval[]): number {
  const events = list.flatMap((i) => [[i.start, 1] as const, [i.end, -1] as const]).sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] < b[0] ? -1 : 1));
  let open = 0;
  let most = 0;
  for (const [, step] of events) {
    open += step;
    most = Math.max(most, open);
  }
  return most;
}

describe('limits across three replicas on one PostgreSQL', () => {
  it('keeps runs on one target apart, a pool within 2, the breaker and the rate limit, whichever replica decides', async () => {
    const replicas = set?.replicas ?? [];
    const ledger = set?.ledger ?? '';
    // Two runbooks on each of six targets in one pool: twelve runs that must take turns.
    await deliverSpread(replicas, Array.from({ length: TARGETS }, (_, i) => alert('Shared', `shared-${tag}-${i}`)));
    // Twice as many new targets as the breaker allows, at once.
    await deliverSpread(replicas, Array.from({ length: BREAKER_MAX * 2 }, (_, i) => alert('Breaker', `breaker-${tag}-${i}`)));
    const reader = replicas[0] as Replica;
    await waitFor(
      async () => {
        const runs = await reader.listAll<RunSummary>('/api/v1/runs', 'runs');
        return runs.filter((r) => r.runbook !== 'delta' && r.state === 'succeeded').length === runs.length && runs.length >= TARGETS * 2 ? true : undefined;
      },
      { description: 'the shared and breaker runs to succeed', timeoutMs: 60_000, intervalMs: 250 },
    );
    // More runs than the rate limit leaves room for in this minute (12 and up to 3 have started).
    await deliverSpread(replicas, Array.from({ length: 10 }, (_, i) => alert('Rated', `rated-${tag}-${i}`)));

    const ended = await waitFor(
      async () => {
        const runs = await reader.listAll<RunSummary>('/api/v1/runs', 'runs');
        const done = runs.filter((r) => r.state === 'succeeded');
        return done.length >= RATE && runs.filter((r) => r.state === 'running').length === 0 ? runs : undefined;
      },
      { description: `${RATE} runs to succeed`, timeoutMs: 60_000, intervalMs: 500 },
    );
    const lines = readLedger(ledger);
    const all = intervals(lines);

    // The shared target: never two runs at once, whichever runbook or replica.
    const shared = all.filter((i) => i.runbook === 'alpha' || i.runbook === 'beta');
    for (let t = 0; t < TARGETS; t++) {
      const target = `shared-${tag}-${t}`;
      const onTarget = shared.filter((i) => i.target === target);
      expect(maxConcurrent(onTarget)).toBeLessThanOrEqual(1);
    }
    // The pool: at most 2 running at any instant, and it was used to the full.
    expect(maxConcurrent(shared)).toBe(2);
    expect(shared).toHaveLength(TARGETS * 2);
    // Two replicas or more took part: the limits held across them, not inside one.
    expect(new Set(lines.filter((l) => l.event === 'start').map((l) => l.replica)).size).toBeGreaterThan(1);

    // The breaker: at most BREAKER_MAX targets got a run; the rest were refused by it.
    const gammaRuns = ended.filter((r) => r.runbook === 'gamma');
    expect(gammaRuns.length).toBeLessThanOrEqual(BREAKER_MAX);
    const refused = (await reader.listAll<Decision>('/api/v1/decisions?runbook=gamma', 'decisions')).filter((d) => d.reason === 'fleet_breaker');
    expect(refused.length).toBe(BREAKER_MAX * 2 - gammaRuns.length);

    // The rate limit: exactly RATE runs started within the minute, fleet-wide; the rest wait as rate_limited.
    const started = ended.filter((r) => r.startedAt !== null);
    expect(started).toHaveLength(RATE);
    expect(lines.filter((l) => l.event === 'start')).toHaveLength(RATE);
    const waiting = ended.filter((r) => r.state === 'pending');
    expect(waiting.length).toBe(ended.length - RATE);
    expect(waiting.every((r) => r.reason === 'rate_limited')).toBe(true);
  }, 120_000);
});
