/** What the executor tells the metrics: each tier's outcome, the run's recovery time from its alert's start, store errors. */

import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import type { Plan } from '../../src/core/runbook.js';
import type { VerifyTier } from '../../src/execute/run-walk.js';
import { executeRun } from '../../src/execute/run-executor.js';
import type { SqliteRunStore } from '../../src/history/sqlite/sqlite-store.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { makeAlert, makeRun, runDecision } from '../store-contract/fixtures.js';
import { cmd, executorDeps, OWNER, openStore, wait } from './executor-harness.js';

const stores: SqliteRunStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** A claimed run of runbook gpu-oom (fault class oom) whose alert started `alertAgeMs` ago. */
async function claimedRun(tiers: Plan['tiers'], alertAgeMs: number): Promise<{ store: SqliteRunStore; runId: string; fence: number }> {
  const { store } = await openStore();
  stores.push(store);
  const claimed = await store.transact(async (tx) => {
    const alert = makeAlert({ startsAt: new Date(tx.now() - alertAgeMs).toISOString() });
    const run = { ...makeRun(tx.now(), { runbook: 'gpu-oom', faultClass: 'oom', alert }), plan: { tiers, env: {}, cancelOnResolve: false } };
    await tx.insertRun(run);
    await tx.insertDecision(runDecision(run));
    return { runId: run.id, fence: await tx.claim(run.id, OWNER, 30_000) };
  });
  return { store, ...claimed };
}

/** The non-zero tier outcome counts, as runbook/tier/outcome=count. */
async function tierCounts(m: Metrics): Promise<string[]> {
  return (await m.tierOutcomes.get()).values.filter((v) => v.value > 0).map((v) => `${v.labels.runbook}/${v.labels.tier}/${v.labels.outcome}=${v.value}`).sort();
}

/** The recovery histogram's series of one fault class and outcome: count, sum and cumulative buckets by `le`. */
async function recovery(m: Metrics, outcome: string): Promise<{ count: number; sum: number; buckets: Record<string, number> }> {
  const values = (await m.recoveryTime.get()).values.filter((v) => v.labels.fault_class === 'oom' && v.labels.outcome === outcome);
  const of = (suffix: string) => values.filter((v) => v.metricName === `remediator_recovery_seconds${suffix}`);
  return {
    count: of('_count')[0]?.value ?? 0,
    sum: of('_sum')[0]?.value ?? 0,
    buckets: Object.fromEntries(of('_bucket').map((v) => [String((v.labels as Record<string, string | number>).le), v.value])),
  };
}

describe('executeRun metrics', () => {
  it("counts each tier by runbook, tier name and outcome, and observes the run's end from its alert's start", async () => {
    const m = createMetrics(new Registry());
    const claimed = await claimedRun(
      [
        { name: 'instance', steps: [cmd('breaks', ['false'])], onFailure: [] },
        { name: 'service', steps: [cmd('fix', ['true'])], onFailure: [] },
      ],
      90_000,
    );
    const verifyTier: VerifyTier = async () => ({ verified: true, ok: true });
    const started = Date.now();
    await executeRun(executorDeps(claimed.store, { metrics: m, verifyTier }), claimed);
    const elapsedS = (Date.now() - started) / 1000;
    expect(await claimed.store.getRun(claimed.runId)).toMatchObject({ state: 'succeeded', reason: 'verified' });
    expect(await tierCounts(m)).toEqual(['gpu-oom/instance/failed=1', 'gpu-oom/service/verified=1']);
    const seen = await recovery(m, 'succeeded');
    expect(seen.count).toBe(1);
    expect(seen.sum).toBeGreaterThanOrEqual(90);
    expect(seen.sum).toBeLessThanOrEqual(90 + elapsedS + 1);
    expect(seen.buckets).toMatchObject({ '60': 0, '120': 1, '+Inf': 1 });
  });

  it('counts a tier that succeeded without a verification as unverified', async () => {
    const m = createMetrics(new Registry());
    const claimed = await claimedRun([{ name: 'only', steps: [cmd('fix', ['true'])], onFailure: [] }], 5_000);
    await executeRun(executorDeps(claimed.store, { metrics: m }), claimed);
    expect(await tierCounts(m)).toEqual(['gpu-oom/only/unverified=1']);
    expect((await recovery(m, 'succeeded')).buckets).toMatchObject({ '10': 1 });
  });

  it('counts the tier a kill switch stopped as canceled, and the run under its outcome', async () => {
    const m = createMetrics(new Registry());
    const claimed = await claimedRun([{ name: 'only', steps: [wait('settle', 400), cmd('act', ['true'])], onFailure: [] }], 30_000);
    setTimeout(() => void claimed.store.setGlobalPause(true), 100);
    await executeRun(executorDeps(claimed.store, { metrics: m }), claimed);
    expect(await claimed.store.getRun(claimed.runId)).toMatchObject({ state: 'canceled', reason: 'paused' });
    expect(await tierCounts(m)).toEqual(['gpu-oom/only/canceled=1']);
    expect((await recovery(m, 'canceled')).count).toBe(1);
    expect((await recovery(m, 'succeeded')).count).toBe(0);
  });

  it('counts an execute store error when the store cannot load the claimed run', async () => {
    const m = createMetrics(new Registry());
    const claimed = await claimedRun([{ name: 'only', steps: [cmd('fix', ['true'])], onFailure: [] }], 5_000);
    await claimed.store.close();
    await executeRun(executorDeps(claimed.store, { metrics: m }), claimed);
    const errors = (await m.storeErrors.get()).values.filter((v) => v.value > 0).map((v) => [v.labels.stage, v.value]);
    expect(errors).toEqual([['execute', 1]]);
    expect(await tierCounts(m)).toEqual([]);
  });
});
