/**
 * Three replicas on one PostgreSQL: each group body reaches all three at the same moment (HA Alertmanager peers and
 * retries); every episode is still executed once, and its one decision counts all three deliveries.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Decision, RunSummary } from '../../src/core/run.js';
import { stopAll } from '../support/child.js';
import { testDatabase } from '../support/postgres.js';
import { fingerprintOf, ledgerCounts, ledgerStep, ranTwice, readLedger, startReplicas, type ReplicaSet } from '../support/replicas.js';
import { waitFor } from '../support/wait-for.js';
import { webhookBody } from './in-process.js';

const EPISODES = 500;
const GROUP_SIZE = 10;
/** Group bodies in flight at once, each sent to all three replicas. */
const GROUPS_IN_FLIGHT = 4;
const RUNBOOK = 'exactly-once';
const tag = randomBytes(3).toString('hex');
let set: ReplicaSet | null = null;

const runbook = (ledger: string): string => `name: ${RUNBOOK}
faultClass: test
description: appends one ledger line per execution
match:
  - alertname = "ExactlyOnce"
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

beforeAll(async () => {
  set = await startReplicas({
    count: 3,
    storeUrl: await testDatabase('replicas_dup'),
    runbooks: (ledger) => ({ 'exactly-once.yaml': runbook(ledger) }),
    config: { limits: { maxRunStartsPerMinute: 100_000, maxConcurrentRuns: 16 } },
  });
}, 120_000);

afterAll(async () => {
  await set?.stop();
  await stopAll();
});

function episode(i: number): { labels: Record<string, string>; startsAt: string; fingerprint: string } {
  const labels = { alertname: 'ExactlyOnce', instance: `dup-${tag}-${i}`, severity: 'page' };
  return { labels, startsAt: new Date(Date.UTC(2026, 10, 26, 14, 0, 0, i)).toISOString(), fingerprint: fingerprintOf(labels) };
}

describe('three replicas on one PostgreSQL, each delivery sent to all three at once', () => {
  it('execute each of 500 episodes once and record one decision per episode with 3 deliveries', async () => {
    const replicas = set?.replicas ?? [];
    const episodes = Array.from({ length: EPISODES }, (_, i) => episode(i));
    const groups: (typeof episodes)[] = [];
    for (let i = 0; i < EPISODES; i += GROUP_SIZE) groups.push(episodes.slice(i, i + GROUP_SIZE));

    const refused: string[] = [];
    const created: string[] = [];
    let next = 0;
    const sender = async (): Promise<void> => {
      for (let g = next++; g < groups.length; g = next++) {
        const body = webhookBody(groups[g] ?? []);
        const answers = await Promise.all(replicas.map((r) => r.api('POST', '/api/v1/alerts', body, 30_000).then((a) => ({ replica: r.name, ...a }))));
        for (const a of answers) {
          if (a.status !== 200) refused.push(`group ${g} on ${a.replica}: ${a.status} ${a.text.slice(0, 300)}`);
          else created.push(...((a.json as { runs: string[] }).runs ?? []));
        }
      }
    };
    const sendStarted = Date.now();
    await Promise.all(Array.from({ length: GROUPS_IN_FLIGHT }, sender));
    const sendMs = Date.now() - sendStarted;
    expect(refused).toEqual([]);
    // The copy that created a run names it; the two duplicates name none.
    expect(created).toHaveLength(EPISODES);
    expect(new Set(created).size).toBe(EPISODES);

    const reader = replicas[0];
    if (reader === undefined) throw new Error('no replica');
    const runs = await waitFor(
      async () => {
        const all = await reader.listAll<RunSummary>(`/api/v1/runs?runbook=${RUNBOOK}`, 'runs');
        return all.length >= EPISODES && all.every((r) => !['pending', 'running', 'awaiting_approval'].includes(r.state)) ? all : undefined;
      },
      { description: `all ${EPISODES} runs to end`, timeoutMs: 120_000, intervalMs: 1_000 },
    );
    expect(runs).toHaveLength(EPISODES);
    expect(runs.filter((r) => r.state !== 'succeeded').map((r) => `${r.target} ${r.state} ${r.reason ?? ''}`)).toEqual([]);
    expect(new Set(runs.map((r) => r.target)).size).toBe(EPISODES);
    expect(new Set(runs.map((r) => r.id))).toEqual(new Set(created));

    const ledger = readLedger(set?.ledger ?? '');
    expect(ranTwice(ledger, 'exec')).toEqual([]);
    const executed = ledgerCounts(ledger, 'exec');
    expect([...executed.keys()].sort()).toEqual(episodes.map((e) => e.labels.instance).sort());

    const decisions = await reader.listAll<Decision>('/api/v1/decisions', 'decisions');
    const summary = (d: Decision): string => `${d.fingerprint} ${d.decision} ${d.reason ?? '-'} deliveries=${d.deliveries}`;
    expect(decisions.filter((d) => d.decision !== 'run' || d.deliveries !== 3 || d.runbook !== RUNBOOK).map(summary)).toEqual([]);
    expect(decisions).toHaveLength(EPISODES);
    expect(new Set(decisions.map((d) => d.fingerprint))).toEqual(new Set(episodes.map((e) => e.fingerprint)));
    expect(new Set(decisions.map((d) => d.runId))).toEqual(new Set(created));

    const byReplica = new Map<string, number>();
    for (const line of ledger) byReplica.set(line.replica, (byReplica.get(line.replica) ?? 0) + 1);
    process.stdout.write(`replicas-duplicates: ${groups.length * 3} deliveries in ${sendMs} ms; executions by replica ${JSON.stringify(Object.fromEntries(byReplica))}\n`);
  }, 180_000);
});
