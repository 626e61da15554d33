import { describe, it, expect, afterEach } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import type { VerifyTier } from '../../src/execute/run-walk.js';
import { executeRun } from '../../src/execute/run-executor.js';
import type { SqliteRunStore } from '../../src/history/sqlite/sqlite-store.js';
import { waitFor } from '../support/wait-for.js';
import { cmd, executorDeps, insertAndClaim, OWNER, openStore, script, shiftableClock, wait } from './executor-harness.js';
import { fixtureScript, processGone, readPids } from './processes.js';
import { fullRecord } from '../verify/full-record.js';

const stores: SqliteRunStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

async function fresh(clock?: ReturnType<typeof shiftableClock>): Promise<{ store: SqliteRunStore; dir: string }> {
  const opened = await openStore(clock);
  stores.push(opened.store);
  return opened;
}

function stepStates(run: Awaited<ReturnType<SqliteRunStore['getRun']>>): string[][] {
  return (run?.tiers ?? []).map((t) => [t.state, ...t.steps.map((s) => `${s.phase}:${s.name}=${s.state}`)]);
}

describe('executeRun', () => {
  it('runs onFailure after a failed tier, then the next tier, and ends succeeded but unverified', async () => {
    const { store, dir } = await fresh();
    const marker = path.join(dir, 'undone');
    const claimed = await insertAndClaim(store, [
      {
        name: 'instance',
        steps: [cmd('ok', ['true']), script('tolerated', 'exit 4', { continueOnError: true }), cmd('breaks', ['false']), cmd('never', ['true'])],
        onFailure: [cmd('undo-fails', ['false']), cmd('undo', ['touch', marker])],
      },
      { name: 'service', steps: [script('fix', 'echo "fixed $PARAM_HOST"')], onFailure: [] },
    ]);
    await executeRun(executorDeps(store), claimed);
    const run = await store.getRun(claimed.runId);
    expect(run).toMatchObject({ state: 'succeeded', reason: 'unverified' });
    expect(stepStates(run)).toEqual([
      ['failed', 'steps:ok=succeeded', 'steps:tolerated=failed', 'steps:breaks=failed', 'steps:never=pending', 'onFailure:undo-fails=failed', 'onFailure:undo=succeeded'],
      ['succeeded', 'steps:fix=succeeded'],
    ]);
    expect(run?.tiers[1]?.verified).toBe(false);
    expect(run?.tiers[1]?.steps[0]).toMatchObject({ stdout: 'fixed gpu-1\n', exitCode: 0, attempts: 1 });
    expect(fs.existsSync(marker)).toBe(true);
  });

  it('ends failed with steps_failed when no tier is left', async () => {
    const { store } = await fresh();
    const claimed = await insertAndClaim(store, [
      { name: 'a', steps: [cmd('x', ['false'])], onFailure: [] },
      { name: 'b', steps: [cmd('y', ['/nonexistent/program'])], onFailure: [] },
    ]);
    await executeRun(executorDeps(store), claimed);
    const run = await store.getRun(claimed.runId);
    expect(run).toMatchObject({ state: 'failed', reason: 'steps_failed' });
    expect(run?.tiers[1]?.steps[0]?.error?.code).toBe('SPAWN_FAILED');
  });

  it('stops at the next step boundary when the kill switch is thrown, ending canceled with reason paused', async () => {
    const { store } = await fresh();
    const claimed = await insertAndClaim(store, [{ name: 't', steps: [wait('settle', 400), cmd('act', ['true'])], onFailure: [] }]);
    setTimeout(() => void store.setGlobalPause(true), 100);
    await executeRun(executorDeps(store), claimed);
    const run = await store.getRun(claimed.runId);
    expect(run).toMatchObject({ state: 'canceled', reason: 'paused' });
    expect(stepStates(run)).toEqual([['canceled', 'steps:settle=succeeded', 'steps:act=pending']]);
  });

  it('kills the running step and ends canceled when a cancel is requested in the store', async () => {
    const { store, dir } = await fresh();
    const pidFile = path.join(dir, 'pids');
    const claimed = await insertAndClaim(store, [
      { name: 't', steps: [cmd('hang', [fixtureScript('stubborn-tree.sh'), pidFile])], onFailure: [cmd('undo', ['true'])] },
    ]);
    const running = executeRun(executorDeps(store), claimed);
    await waitFor(() => (fs.existsSync(pidFile) && readPids(pidFile).length === 7 ? true : undefined), { description: 'tree started' });
    const asked = Date.now();
    await store.cancelRun(claimed.runId, 'canceled');
    await running;
    expect(Date.now() - asked).toBeLessThan(5_000);
    expect(readPids(pidFile).every(processGone)).toBe(true);
    const run = await store.getRun(claimed.runId);
    expect(run).toMatchObject({ state: 'canceled', reason: 'canceled' });
    expect(stepStates(run)).toEqual([['canceled', 'steps:hang=canceled']]);
    expect(run?.tiers[0]?.steps[0]?.stoppedBy).toBe('canceled');
  });

  it('stops a run at once through the in-process registry', async () => {
    const { store } = await fresh();
    const deps = executorDeps(store, { pollMs: 60_000, leaseMs: 180_000 });
    const claimed = await insertAndClaim(store, [{ name: 't', steps: [cmd('hang', ['sleep', '30'])], onFailure: [] }]);
    const running = executeRun(deps, claimed);
    await waitFor(async () => ((await store.getRun(claimed.runId))?.tiers[0]?.steps[0]?.state === 'running' ? true : undefined), {
      description: 'step running',
      intervalMs: 20,
    });
    await new Promise((r) => setTimeout(r, 50));
    const asked = Date.now();
    expect(deps.registry?.abort(claimed.runId, 'resolved')).toBe(true);
    await running;
    expect(Date.now() - asked).toBeLessThan(5_000);
    expect(await store.getRun(claimed.runId)).toMatchObject({ state: 'canceled', reason: 'resolved' });
  });

  it('resumes a reclaimed wait with only its remaining time', async () => {
    const clock = shiftableClock();
    const { store } = await fresh(clock);
    const first = await insertAndClaim(store, [{ name: 't', steps: [wait('cool-down', 60_000), cmd('after', ['true'])], onFailure: [] }]);
    await store.startTier(first.runId, first.fence, 0);
    await store.startStep(first.runId, first.fence, { tierIndex: 0, phase: 'steps', stepIndex: 0, name: 'cool-down', kind: 'wait', argv: null, host: null });
    clock.shift(59_700);
    await store.releaseLease(first.runId);
    const fence = await store.transact((tx) => tx.claim(first.runId, OWNER, 30_000));
    const started = Date.now();
    await executeRun(executorDeps(store), { runId: first.runId, fence });
    expect(Date.now() - started).toBeLessThan(3000);
    const run = await store.getRun(first.runId);
    expect(run).toMatchObject({ state: 'succeeded', reason: 'unverified' });
    expect(stepStates(run)).toEqual([['succeeded', 'steps:cool-down=succeeded', 'steps:after=succeeded']]);
  });

  it('resumes a reclaimed verification from when it started, not from zero', async () => {
    const { store } = await fresh();
    const verify = { kind: 'promql' as const, query: 'up == 1', everyMs: 1000, withinMs: 60_000, stableForMs: 2000 };
    const first = await insertAndClaim(store, [{ name: 't', steps: [cmd('ok', ['true'])], onFailure: [], verify }]);
    const seen: (number | undefined)[] = [];
    const verifyTier: VerifyTier = async (input) => {
      seen.push(input.resumeFrom);
      return { verified: true, ok: true, record: fullRecord({ outcome: 'verified' }) };
    };
    // The first worker ran the step and began verifying, then died: its records are all a reclaim has.
    await store.startTier(first.runId, first.fence, 0);
    await store.startStep(first.runId, first.fence, { tierIndex: 0, phase: 'steps', stepIndex: 0, name: 'ok', kind: 'run', argv: ['true'], host: null });
    const result = { ok: true, exitCode: 0, signal: null, timedOut: false, stoppedBy: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, startedAt: 1, endedAt: 2, error: null };
    await store.finishStep(first.runId, first.fence, { tierIndex: 0, phase: 'steps', stepIndex: 0 }, 'succeeded', result, 1);
    const startedAt = '2026-01-01T00:00:00.000Z';
    await store.recordVerify(first.runId, first.fence, 0, { kind: 'promql', outcome: 'running', startedAt });
    await store.releaseLease(first.runId);
    const fence = await store.transact((tx) => tx.claim(first.runId, OWNER, 30_000));
    await executeRun(executorDeps(store, { verifyTier }), { runId: first.runId, fence });
    expect(seen).toEqual([Date.parse(startedAt)]);
    expect(await store.getRun(first.runId)).toMatchObject({ state: 'succeeded', reason: 'verified' });
  });

  it('records when a verification starts, so a reclaim can resume it', async () => {
    const { store } = await fresh();
    const verify = { kind: 'alertResolved' as const, everyMs: 1000, withinMs: 60_000, stableForMs: 2000 };
    const claimed = await insertAndClaim(store, [{ name: 't', steps: [cmd('ok', ['true'])], onFailure: [], verify }]);
    const during: unknown[] = [];
    const verifyTier: VerifyTier = async (input) => {
      during.push((await store.getRun(input.runId))?.tiers[0]?.verify);
      return { verified: false, ok: false, record: fullRecord({ kind: 'alertResolved', outcome: 'timed_out' }), reason: 'verify_timed_out' };
    };
    await executeRun(executorDeps(store, { verifyTier }), claimed);
    expect(during).toEqual([expect.objectContaining({ kind: 'alertResolved', outcome: 'running', startedAt: expect.any(String) })]);
    expect(await store.getRun(claimed.runId)).toMatchObject({ state: 'failed', reason: 'verify_timed_out' });
  });

  it.each([
    ['a non-idempotent step: the run ends interrupted', false, 'interrupted', 'interrupted'],
    ['an idempotent step: it is run again', true, 'succeeded', 'succeeded'],
  ])('on a reclaim with %s', async (_name, idempotent, runState, stepState) => {
    const { store, dir } = await fresh();
    const marker = path.join(dir, 'ran');
    const first = await insertAndClaim(store, [{ name: 't', steps: [cmd('restart', ['touch', marker], { idempotent })], onFailure: [cmd('undo', ['true'])] }]);
    await store.startTier(first.runId, first.fence, 0);
    await store.startStep(first.runId, first.fence, { tierIndex: 0, phase: 'steps', stepIndex: 0, name: 'restart', kind: 'run', argv: ['touch', marker], host: null });
    await store.releaseLease(first.runId);
    const fence = await store.transact((tx) => tx.claim(first.runId, OWNER, 30_000));
    await executeRun(executorDeps(store), { runId: first.runId, fence });
    const run = await store.getRun(first.runId);
    expect(run?.state).toBe(runState);
    expect(run?.tiers[0]?.steps[0]?.state).toBe(stepState);
    expect(run?.tiers[0]?.steps.some((s) => s.phase === 'onFailure')).toBe(false);
    expect(fs.existsSync(marker)).toBe(idempotent);
  });

  it('on shutdown gives a running step its grace, kills it and leaves the run running for a reclaim', async () => {
    const { store, dir } = await fresh();
    const pidFile = path.join(dir, 'pids');
    const shutdown = new AbortController();
    const claimed = await insertAndClaim(store, [{ name: 't', steps: [cmd('hang', [fixtureScript('stubborn-tree.sh'), pidFile])], onFailure: [] }]);
    const running = executeRun(executorDeps(store, { shutdown: shutdown.signal, shutdownGraceMs: 300, killGraceMs: 200 }), claimed);
    await waitFor(() => (fs.existsSync(pidFile) && readPids(pidFile).length === 7 ? true : undefined), { description: 'tree started' });
    const asked = Date.now();
    shutdown.abort('shutdown');
    await running;
    expect(Date.now() - asked).toBeGreaterThanOrEqual(290);
    expect(Date.now() - asked).toBeLessThan(5_000);
    await waitFor(() => (readPids(pidFile).every(processGone) ? true : undefined), { description: 'tree gone', timeoutMs: 1000, intervalMs: 20 });
    const run = await store.getRun(claimed.runId);
    expect(run?.state).toBe('running');
    expect(run?.tiers[0]?.steps[0]?.state).toBe('running');
    await new Promise((r) => setTimeout(r, 10));
    expect((await store.expiredRuns(OWNER, false)).map((e) => e.runId)).toEqual([claimed.runId]);
  });

  it('stops writing and kills its step when another worker takes the run', async () => {
    const { store, dir } = await fresh();
    const pidFile = path.join(dir, 'pid');
    const claimed = await insertAndClaim(store, [{ name: 't', steps: [script('hang', `echo $$ > ${pidFile}; exec sleep 30`)], onFailure: [] }]);
    const running = executeRun(executorDeps(store), claimed);
    await waitFor(async () => ((await store.getRun(claimed.runId))?.tiers[0]?.steps[0]?.state === 'running' ? true : undefined), {
      description: 'step running',
      intervalMs: 20,
    });
    await store.releaseLease(claimed.runId);
    await store.transact((tx) => tx.claim(claimed.runId, 'other-worker', 30_000));
    const asked = Date.now();
    await running;
    expect(Date.now() - asked).toBeLessThan(5_000);
    expect(readPids(pidFile).every(processGone)).toBe(true);
    const run = await store.getRun(claimed.runId);
    expect(run?.state).toBe('running');
    expect(run?.tiers[0]?.steps[0]?.state).toBe('running');
  });
});
