import { describe, it, expect } from '@jest/globals';
import { Registry } from 'prom-client';
import { loadConfig, type Config } from '../../src/config/config.js';
import { RemediatorError } from '../../src/core/errors.js';
import { startExecution } from '../../src/execute/start-execution.js';
import { claimNext } from '../../src/guard/claim.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { waitFor } from '../support/wait-for.js';
import { makeRun, runDecision } from '../store-contract/fixtures.js';
import { cmd, openStore } from './executor-harness.js';

describe('startExecution', () => {
  it('executes a committed run as soon as it is woken, and stops cleanly', async () => {
    const { store, dir } = await openStore();
    const base = loadConfig(null, dir);
    const config: Config = { ...base, limits: { ...base.limits, maxConcurrentRuns: 2, leaseMs: 3000 } };
    const metrics = createMetrics(new Registry());
    const owner = 'replica-1';
    const execution = await startExecution({
      config,
      store,
      metrics,
      logger: createLogger({ level: 'silent' }),
      owner,
      env: process.env,
      pollMs: 60_000,
      claim: () => claimNext(store, { owner, leaseMs: config.limits.leaseMs }),
    });
    const runId = await store.transact(async (tx) => {
      const run = { ...makeRun(tx.now()), plan: { tiers: [{ name: 't', steps: [cmd('ok', ['true'])], onFailure: [] }], env: {}, cancelOnResolve: false } };
      await tx.insertRun(run);
      await tx.insertDecision(runDecision(run));
      return run.id;
    });
    execution.wake();
    const run = await waitFor(async () => {
      const r = await store.getRun(runId);
      return r?.state === 'succeeded' ? r : undefined;
    }, { description: 'run succeeded', timeoutMs: 3000, intervalMs: 10 });
    expect(run.reason).toBe('unverified');
    expect(await metrics.registry.getSingleMetricAsString('remediator_runs_total')).toContain('remediator_runs_total{outcome="succeeded"} 1');
    expect(execution.abortRun(runId, 'canceled')).toBe(false);
    await execution.stop(0);
    await store.close();
  });

  it('counts claims and sweeps that the store cannot answer as store errors', async () => {
    const { store, dir } = await openStore();
    const base = loadConfig(null, dir);
    const config: Config = { ...base, limits: { ...base.limits, maxConcurrentRuns: 1, leaseMs: 3000 } };
    const metrics = createMetrics(new Registry());
    let claims = 0;
    const execution = await startExecution({
      config,
      store,
      metrics,
      logger: createLogger({ level: 'silent' }),
      owner: 'replica-1',
      env: process.env,
      pollMs: 20,
      claim: async () => {
        claims++;
        throw new RemediatorError('STORE_UNAVAILABLE', 'SQLite store could not run a transaction: SQLITE_IOERR');
      },
    });
    // The start-up sweep ran on the open store; the periodic one (every second at this lease) finds it closed.
    await store.close();
    const counted = async (stage: string): Promise<number> => (await metrics.storeErrors.get()).values.find((v) => v.labels.stage === stage)?.value ?? 0;
    await waitFor(async () => ((await counted('claim')) >= 2 && (await counted('sweep')) >= 1 ? true : undefined), {
      description: 'claim and sweep store errors counted',
      timeoutMs: 5000,
      intervalMs: 20,
    });
    await execution.stop(0);
    expect(await counted('claim')).toBe(claims);
    expect(await counted('execute')).toBe(0);
  });
});
