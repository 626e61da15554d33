/** Contract: claiming, fencing, leases, the one-run-per-target rule and cancellation. */

import { describe, expect, it } from '@jest/globals';
import type { StepResult } from '../../src/core/run.js';
import type { StoreContext } from './run-store-contract.js';
import { claim, insertRun, runToEnd, sleep } from './fixtures.js';

const STEP = { tierIndex: 0, phase: 'steps', stepIndex: 0 } as const;

function result(ok: boolean): StepResult {
  const now = Date.now();
  return {
    ok, exitCode: ok ? 0 : 1, signal: null, timedOut: false, stoppedBy: null, stdout: 'out', stderr: '',
    stdoutTruncated: false, stderrTruncated: false, startedAt: now, endedAt: now, error: null,
  };
}

/** Registers the claim, lease and cancel tests. */
export function describeLeaseContract(ctx: StoreContext): void {
  describe('claiming', () => {
    it('offers due pending runs and released running runs, oldest first', async () => {
      const due = await insertRun(ctx.store);
      const later = await insertRun(ctx.store, { notBefore: (await ctx.store.now()) + 60_000 });
      const released = await insertRun(ctx.store, { target: 'gpu-2' });
      const owned = await insertRun(ctx.store, { target: 'gpu-3' });
      await claim(ctx.store, released.id);
      await claim(ctx.store, owned.id);
      await ctx.store.releaseLease(released.id);
      await ctx.store.transact((tx) => tx.setWaiting(due.id, 'target_busy'));
      const candidates = await ctx.store.transact((tx) => tx.claimCandidates(10));
      expect(candidates.map((c) => [c.runId, c.resumed, c.waitingFor])).toEqual([
        [due.id, false, 'target_busy'],
        [released.id, true, null],
      ]);
      expect(candidates.map((c) => c.runId)).not.toContain(later.id);
      expect(await ctx.store.transact((tx) => tx.claimCandidates(1))).toHaveLength(1);
    });

    it('shows what a pending run waits for as its reason, and clears it at claim', async () => {
      const run = await insertRun(ctx.store);
      await ctx.store.transact((tx) => tx.setWaiting(run.id, 'pool_busy'));
      expect(await ctx.store.getRun(run.id)).toMatchObject({ state: 'pending', reason: 'pool_busy' });
      await claim(ctx.store, run.id);
      const claimed = await ctx.store.getRun(run.id);
      expect(claimed).toMatchObject({ state: 'running', reason: null });
      expect(claimed?.startedAt).not.toBeNull();
    });

    it('skips a pending run with its guard reason', async () => {
      const run = await insertRun(ctx.store);
      await ctx.store.transact((tx) => tx.skipRun(run.id, 'stale'));
      const skipped = await ctx.store.getRun(run.id);
      expect(skipped).toMatchObject({ state: 'skipped', reason: 'stale' });
      expect(skipped?.endedAt).not.toBeNull();
    });

    it('lets only one run hold a target', async () => {
      const first = await insertRun(ctx.store, { target: 'busy', runbook: 'one' });
      const second = await insertRun(ctx.store, { target: 'busy', runbook: 'two' });
      expect(await ctx.store.transact((tx) => tx.targetHeld('busy', second.id))).toBe(false);
      await claim(ctx.store, first.id);
      expect(await ctx.store.transact((tx) => tx.targetHeld('busy', second.id))).toBe(true);
      expect(await ctx.store.transact((tx) => tx.targetHeld('busy', first.id))).toBe(false);
      await expect(claim(ctx.store, second.id)).rejects.toThrow();
      expect((await ctx.store.getRun(second.id))?.state).toBe('pending');
    });

    it('refuses to claim a run that another worker holds', async () => {
      const run = await insertRun(ctx.store);
      expect(await claim(ctx.store, run.id, 'w1')).toBe(1);
      await expect(claim(ctx.store, run.id, 'w2')).rejects.toThrow();
    });
  });

  describe('fencing and leases', () => {
    it('refuses every write of a stale fence after the run was reclaimed', async () => {
      const run = await insertRun(ctx.store);
      const old = await claim(ctx.store, run.id, 'w1');
      expect(await ctx.store.startTier(run.id, old, 0)).toBe(true);
      await ctx.store.releaseLease(run.id);
      const fresh = await claim(ctx.store, run.id, 'w2');
      expect(fresh).toBe(old + 1);
      const start = { ...STEP, name: 'a', kind: 'run', argv: ['echo', 'a'], host: null } as const;
      expect(await ctx.store.startStep(run.id, old, start)).toBe(false);
      expect(await ctx.store.finishStep(run.id, old, STEP, 'succeeded', result(true), 1)).toBe(false);
      expect(await ctx.store.finishTier(run.id, old, 0, 'succeeded', true)).toBe(false);
      expect(await ctx.store.markExecuted(run.id, old)).toBe(false);
      expect(await ctx.store.finishRun(run.id, old, 'failed', 'steps_failed')).toBe(false);
      expect((await ctx.store.renewLease(run.id, 'w1', old, 1000)).held).toBe(false);
      expect((await ctx.store.renewLease(run.id, 'w2', fresh, 1000)).held).toBe(true);
      expect(await ctx.store.startStep(run.id, fresh, start)).toBe(true);
      expect((await ctx.store.getRun(run.id))?.state).toBe('running');
    });

    it('answers a lease check without writing: held for its owner and fence until it expires, and any cancel asked', async () => {
      const run = await insertRun(ctx.store);
      const fence = await claim(ctx.store, run.id, 'w1', 300);
      expect(await ctx.store.checkLease(run.id, 'w1', fence)).toEqual({ held: true, cancelRequested: null, globalPaused: false });
      expect((await ctx.store.checkLease(run.id, 'w2', fence)).held).toBe(false);
      expect((await ctx.store.checkLease(run.id, 'w1', fence + 1)).held).toBe(false);
      await ctx.store.cancelRun(run.id, 'canceled');
      expect(await ctx.store.checkLease(run.id, 'w1', fence)).toMatchObject({ held: true, cancelRequested: 'canceled' });
      await sleep(350);
      // Only a renewal moves the lease on; a check never does.
      expect((await ctx.store.checkLease(run.id, 'w1', fence)).held).toBe(false);
      // One process owns a single-process store, so a late renewal is still its own; on a shared store a lapsed lease is
      // lost for good, since another replica's sweep may already be killing the step's processes.
      const renewed = ctx.store.capabilities.singleProcess;
      expect((await ctx.store.renewLease(run.id, 'w1', fence, 1000)).held).toBe(renewed);
      expect((await ctx.store.checkLease(run.id, 'w1', fence)).held).toBe(renewed);
    });

    it('refuses the writes of a worker whose run has ended', async () => {
      const run = await insertRun(ctx.store);
      const fence = await claim(ctx.store, run.id);
      expect(await ctx.store.finishRun(run.id, fence, 'succeeded', 'verified')).toBe(true);
      expect(await ctx.store.startTier(run.id, fence, 1)).toBe(false);
      expect((await ctx.store.renewLease(run.id, 'worker-1', fence, 1000)).held).toBe(false);
    });

    it('reports a lease as expired once it lapses, with the processes of its running steps', async () => {
      const run = await insertRun(ctx.store);
      const fence = await claim(ctx.store, run.id, 'w1', 200);
      await ctx.store.startStep(run.id, fence, { ...STEP, name: 'a', kind: 'run', argv: ['sleep', '9'], host: null });
      await ctx.store.recordProcess(run.id, fence, STEP, { pgid: 4242, startTicks: 777 });
      expect(await ctx.store.expiredRuns('w1', false)).toEqual([]);
      await sleep(350);
      expect(await ctx.store.expiredRuns('w1', false)).toEqual([{ runId: run.id, processes: [{ pgid: 4242, startTicks: 777 }] }]);
    });

    it('keeps a renewed lease alive past its first expiry', async () => {
      const run = await insertRun(ctx.store);
      const fence = await claim(ctx.store, run.id, 'w1', 200);
      await sleep(100);
      const check = await ctx.store.renewLease(run.id, 'w1', fence, 600);
      await sleep(200);
      expect(check).toEqual({ held: true, cancelRequested: null, globalPaused: false });
      expect(await ctx.store.expiredRuns('w1', false)).toEqual([]);
    });

    it('treats runs of other owners as expired at a single-process start-up, and never on a shared store', async () => {
      const run = await insertRun(ctx.store);
      await claim(ctx.store, run.id, 'old-process');
      expect(await ctx.store.expiredRuns('new-process', false)).toEqual([]);
      // On a shared store another owner is another replica, alive until its lease says otherwise.
      const others = ctx.store.capabilities.singleProcess ? [run.id] : [];
      expect((await ctx.store.expiredRuns('new-process', true)).map((r) => r.runId)).toEqual(others);
      expect(await ctx.store.expiredRuns('old-process', true)).toEqual([]);
    });

    it('hands a released run back as a candidate to resume', async () => {
      const run = await insertRun(ctx.store);
      await claim(ctx.store, run.id, 'w1', 200);
      await sleep(300);
      for (const expired of await ctx.store.expiredRuns('w2', false)) await ctx.store.releaseLease(expired.runId);
      expect(await ctx.store.expiredRuns('w2', false)).toEqual([]);
      const candidates = await ctx.store.transact((tx) => tx.claimCandidates(10));
      expect(candidates).toMatchObject([{ runId: run.id, resumed: true }]);
      expect(await claim(ctx.store, run.id, 'w2')).toBe(2);
    });
  });

  describe('cancel', () => {
    it('cancels a pending run at once', async () => {
      const run = await insertRun(ctx.store);
      expect(await ctx.store.cancelRun(run.id, 'canceled')).toBe('canceled');
      const after = await ctx.store.getRun(run.id);
      expect(after).toMatchObject({ state: 'canceled', reason: 'canceled' });
      expect(after?.endedAt).not.toBeNull();
    });

    it('asks a running run to stop through its lease check', async () => {
      const run = await insertRun(ctx.store);
      const fence = await claim(ctx.store, run.id);
      expect(await ctx.store.cancelRun(run.id, 'canceled')).toBe('running');
      expect((await ctx.store.renewLease(run.id, 'worker-1', fence, 1000)).cancelRequested).toBe('canceled');
      expect(await ctx.store.getRun(run.id)).toMatchObject({ state: 'running', cancelRequested: 'canceled' });
    });

    it('leaves an ended run as it is and knows no unknown run', async () => {
      const run = await runToEnd(ctx.store, 'succeeded');
      expect(await ctx.store.cancelRun(run.id, 'canceled')).toBe('succeeded');
      expect((await ctx.store.getRun(run.id))?.reason).toBe('verified');
      expect(await ctx.store.cancelRun('no-such-run', 'canceled')).toBeNull();
    });

    it('cancels inside a transaction only what is in the right state', async () => {
      const pending = await insertRun(ctx.store);
      const running = await insertRun(ctx.store, { target: 'gpu-2' });
      await claim(ctx.store, running.id);
      const outcome = await ctx.store.transact(async (tx) => [
        await tx.cancelPending(running.id, 'resolved'),
        await tx.requestCancel(pending.id, 'resolved'),
        await tx.requestCancel(running.id, 'resolved'),
        await tx.cancelPending(pending.id, 'resolved'),
      ]);
      expect(outcome).toEqual([false, false, true, true]);
      expect(await ctx.store.getRun(pending.id)).toMatchObject({ state: 'canceled', reason: 'resolved' });
    });
  });
}
