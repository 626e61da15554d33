/**
 * kill -9 of the replica that runs a step, with three replicas on one PostgreSQL and a 3 s lease: another replica's sweep
 * reclaims the run, kills the step's recorded process group, and never re-runs a step that is not idempotent.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RunDetail } from '../../src/core/run.js';
import { stopAll } from '../support/child.js';
import { testDatabase } from '../support/postgres.js';
import { ledgerStep, readLedger, startReplicas, type LedgerLine, type Replica, type ReplicaSet } from '../support/replicas.js';
import { waitFor } from '../support/wait-for.js';
import { processGone } from '../execute/processes.js';
import { webhookBody } from './in-process.js';

const LEASE_MS = 3_000;
/** Each case holds on `sleep <its number>`, a duration no other process on the machine uses. */
const holdBase = 2_000_000 + randomInt(0, 400_000) * 2;
const tag = randomBytes(3).toString('hex');
let set: ReplicaSet | null = null;

const runbook = (ledger: string, name: string, alertname: string, hold: number, idempotent: boolean): string => `name: ${name}
faultClass: test
description: appends start, then holds on a long sleep in its process group
match:
  - alertname = "${alertname}"
params:
  host: { from: labels.instance, pattern: '^[a-z0-9-]{1,64}$' }
target: "{{ params.host }}"
tiers:
  - name: only
    steps:
      - name: hold
        run: ${ledgerStep(ledger, 'start', '{{ run.id }}', hold)}
        timeout: 10m
        idempotent: ${idempotent}
`;

beforeAll(async () => {
  set = await startReplicas({
    count: 3,
    storeUrl: await testDatabase('replicas_kill'),
    runbooks: (ledger) => ({
      'hold-once.yaml': runbook(ledger, 'hold-once', 'HoldOnce', holdBase, false),
      'hold-again.yaml': runbook(ledger, 'hold-again', 'HoldAgain', holdBase + 1, true),
    }),
    config: { limits: { lease: `${LEASE_MS / 1000}s`, killGrace: '1s' } },
  });
}, 120_000);

afterAll(async () => {
  await set?.stop();
  await stopAll();
  for (const pid of [...liveSleeps(holdBase), ...liveSleeps(holdBase + 1)]) process.kill(pid, 'SIGKILL');
});

/** The live pids of `sleep <seconds>`, found through /proc. */
function liveSleeps(seconds: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv[0] === 'sleep' && argv[1] === String(seconds) && !processGone(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}

function startsOf(runId: string): LedgerLine[] {
  return readLedger(set?.ledger ?? '').filter((l) => l.event === 'start' && l.id === runId);
}

async function getRun(replica: Replica, runId: string): Promise<RunDetail> {
  const answer = await replica.api('GET', `/api/v1/runs/${runId}`);
  if (answer.status !== 200) throw new Error(`GET run ${runId} on ${replica.name}: ${answer.status} ${answer.text}`);
  return answer.json as RunDetail;
}

/** Sends one alert, waits until a replica holds its step on the sleep, and kills that replica with SIGKILL. */
async function killTheRunner(alertname: string, hold: number): Promise<{ runId: string; killed: Replica; sleepPids: number[]; killedAt: number }> {
  const replicas = set?.replicas ?? [];
  const entry = replicas[0];
  if (entry === undefined) throw new Error('no replica');
  const answer = await entry.api('POST', '/api/v1/alerts', webhookBody([{ labels: { alertname, instance: `kill-${tag}-${hold}` } }]));
  expect(answer.status).toBe(200);
  const runId = (answer.json as { runs: string[] }).runs[0] ?? '';
  expect(runId).not.toBe('');
  const first = await waitFor(() => startsOf(runId)[0], { description: `the step of run ${runId} to start` });
  const sleepPids = await waitFor(() => {
    const pids = liveSleeps(hold);
    return pids.length > 0 ? pids : undefined;
  }, { description: `the step to start sleep ${hold}` });
  const killed = set?.byName(first.replica);
  if (killed === undefined) throw new Error(`no replica ${first.replica}`);
  killed.service.kill('SIGKILL');
  await killed.service.exited;
  const killedAt = Date.now();
  // Nothing is left of the replica to kill its step: the sleep outlives it until a sweep reclaims the run.
  expect(liveSleeps(hold)).toEqual(sleepPids);
  return { runId, killed, sleepPids, killedAt };
}

/** The replicas other than `except` whose sweep logged reclaiming the run (two may: only one's conditional release takes). */
function reclaimedBy(runId: string, except: Replica): string[] {
  return (set?.replicas ?? [])
    .filter((r) => r !== except && r.service.logRecords().some((rec) => rec.msg === 'expired lease reclaimed' && rec.runId === runId))
    .map((r) => r.name);
}

describe('kill -9 of the replica that runs a step', () => {
  it('makes another replica reclaim the run within lease + 10 s, kill the step, and end the run interrupted without re-running it', async () => {
    const { runId, killed, killedAt } = await killTheRunner('HoldOnce', holdBase);
    const survivor = (set?.replicas ?? []).find((r) => r !== killed);
    if (survivor === undefined) throw new Error('no survivor');
    const run = await waitFor(
      async () => {
        const r = await getRun(survivor, runId);
        return r.state === 'interrupted' ? r : undefined;
      },
      { description: `run ${runId} to end interrupted`, timeoutMs: LEASE_MS + 10_000, intervalMs: 100, context: () => JSON.stringify(startsOf(runId)) },
    );
    const reclaimMs = Date.now() - killedAt;
    expect(run.reason).toBe('interrupted');
    expect(reclaimedBy(runId, killed).length).toBeGreaterThan(0);
    expect(liveSleeps(holdBase)).toEqual([]);
    expect(startsOf(runId)).toHaveLength(1);
    process.stdout.write(`replicas-kill: interrupted ${reclaimMs} ms after the kill, reclaimed by ${reclaimedBy(runId, killed).join(',')}\n`);

    await killed.service.restart();
    await killed.service.waitReady();
  }, 90_000);

  it('re-runs an idempotent step once, on another replica, and the run does not end interrupted', async () => {
    const hold = holdBase + 1;
    const { runId, killed, killedAt } = await killTheRunner('HoldAgain', hold);
    const survivor = (set?.replicas ?? []).find((r) => r !== killed);
    if (survivor === undefined) throw new Error('no survivor');
    const starts = await waitFor(
      () => {
        const s = startsOf(runId);
        return s.length >= 2 ? s : undefined;
      },
      { description: `the step of run ${runId} to be re-run`, timeoutMs: LEASE_MS + 10_000, intervalMs: 100 },
    );
    const rerunMs = Date.now() - killedAt;
    const run = await waitFor(
      async () => {
        const r = await getRun(survivor, runId);
        return ['pending', 'running'].includes(r.state) ? undefined : r;
      },
      { description: `run ${runId} to end`, timeoutMs: 20_000 },
    );
    expect(run.state).toBe('succeeded');
    expect(startsOf(runId)).toHaveLength(2);
    expect(starts[0]?.replica).toBe(killed.name);
    expect(starts[1]?.replica).not.toBe(killed.name);
    expect(reclaimedBy(runId, killed).length).toBeGreaterThan(0);
    // The re-run returned at once; the first attempt's sleep went with the reclaim.
    expect(liveSleeps(hold)).toEqual([]);
    process.stdout.write(`replicas-kill: idempotent step re-run on ${starts[1]?.replica ?? '?'} ${rerunMs} ms after the kill\n`);
  }, 90_000);
});
