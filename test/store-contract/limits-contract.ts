/** Contract: the blast-radius facts (pools, the run-start rate, fleet targets), fleet breakers and budget resets. */

import { describe, expect, it } from '@jest/globals';
import type { StoreTx } from '../../src/history/run-store.js';
import type { StoreContext } from './run-store-contract.js';
import { claim, insertRun, runToEnd, sleep } from './fixtures.js';

/** Opens gpu-oom's breaker and returns the store time it did so at. */
function openAt(ctx: StoreContext): Promise<number> {
  return ctx.store.transact(async (tx) => {
    await tx.openBreaker('gpu-oom');
    return tx.now();
  });
}

/** Registers the pool, rate, breaker and reset tests. */
export function describeLimitsContract(ctx: StoreContext): void {
  describe('claim candidates for the limits', () => {
    it('carry the pool and its limit, and say whether the run started at once', async () => {
      const now = await ctx.store.now();
      const immediate = await insertRun(ctx.store, { target: 'gpu-1', pool: 'rack-a', maxConcurrentPerPool: 3 });
      const deferred = await insertRun(ctx.store, { target: 'gpu-2', notBefore: now + 40 });
      const waiting = await insertRun(ctx.store, { target: 'gpu-3' });
      await ctx.store.transact((tx) => tx.setWaiting(waiting.id, 'pool_busy'));
      await sleep(60);
      const candidates = await ctx.store.transact((tx) => tx.claimCandidates(10));
      const byId = new Map(candidates.map((c) => [c.runId, [c.pool, c.maxConcurrentPerPool, c.waited]]));
      expect(byId.get(immediate.id)).toEqual(['rack-a', 3, false]);
      expect(byId.get(deferred.id)).toEqual([null, 1, true]);
      expect(byId.get(waiting.id)).toEqual([null, 1, true]);
    });

    it('remember that a run waited even after its wait reason is cleared by a claim and a release', async () => {
      const run = await insertRun(ctx.store);
      await ctx.store.transact((tx) => tx.setWaiting(run.id, 'rate_limited'));
      await claim(ctx.store, run.id);
      await ctx.store.releaseLease(run.id);
      const [candidate] = await ctx.store.transact((tx) => tx.claimCandidates(10));
      expect(candidate).toMatchObject({ runId: run.id, resumed: true, waitingFor: null, waited: true });
    });
  });

  describe('pools, starts and targets', () => {
    it('counts the running runs of a pool across runbooks, and only while they hold their target', async () => {
      const a = await insertRun(ctx.store, { runbook: 'gpu-oom', target: 'gpu-1', pool: 'rack-a' });
      const b = await insertRun(ctx.store, { runbook: 'hung', target: 'gpu-2', pool: 'rack-a' });
      const other = await insertRun(ctx.store, { runbook: 'hung', target: 'gpu-3', pool: 'rack-b' });
      await insertRun(ctx.store, { runbook: 'hung', target: 'gpu-4', pool: 'rack-a' });
      const active = (pool: string): Promise<number> => ctx.store.transact((tx) => tx.poolActive(pool));
      expect(await active('rack-a')).toBe(0);
      const fenceA = await claim(ctx.store, a.id);
      await claim(ctx.store, b.id);
      await claim(ctx.store, other.id);
      expect([await active('rack-a'), await active('rack-b'), await active('rack-c')]).toEqual([2, 1, 0]);
      await ctx.store.finishRun(a.id, fenceA, 'succeeded', 'verified');
      expect(await active('rack-a')).toBe(1);
    });

    it('counts run starts across runbooks since a time, and a resumed run once', async () => {
      const before = await ctx.store.now();
      const first = await insertRun(ctx.store, { runbook: 'gpu-oom', target: 'gpu-1' });
      await claim(ctx.store, first.id);
      await sleep(5);
      const middle = await ctx.store.now();
      const second = await insertRun(ctx.store, { runbook: 'hung', target: 'gpu-2' });
      await claim(ctx.store, second.id);
      await insertRun(ctx.store, { runbook: 'hung', target: 'gpu-3' });
      await ctx.store.releaseLease(first.id);
      await claim(ctx.store, first.id, 'worker-2');
      const starts = (since: number): Promise<number> => ctx.store.transact((tx) => tx.startsSince(since));
      expect([await starts(before), await starts(middle), await starts((await ctx.store.now()) + 1)]).toEqual([2, 1, 0]);
    });

    it('lists the distinct targets of a runbook since a time, leaving out shadow runs, older runs and other runbooks', async () => {
      await insertRun(ctx.store, { target: 'old' });
      await sleep(5);
      const since = await ctx.store.now();
      await runToEnd(ctx.store, 'failed', { target: 'gpu-2' });
      await insertRun(ctx.store, { target: 'gpu-1' });
      await insertRun(ctx.store, { target: 'gpu-2' });
      await insertRun(ctx.store, { target: 'gpu-3', state: 'shadow' });
      await insertRun(ctx.store, { runbook: 'hung', target: 'gpu-4' });
      expect(await ctx.store.transact((tx) => tx.targetsSince('gpu-oom', since))).toEqual(['gpu-1', 'gpu-2']);
      expect(await ctx.store.transact((tx) => tx.targetsSince('gpu-oom', since - 60_000))).toEqual(['gpu-1', 'gpu-2', 'old']);
    });

    it('counts fleet targets only from after the last reset', async () => {
      const since = (await ctx.store.now()) - 60_000;
      await insertRun(ctx.store, { target: 'gpu-1' });
      await insertRun(ctx.store, { target: 'gpu-2' });
      await sleep(5);
      await ctx.store.resetRunbook('gpu-oom');
      await sleep(5);
      await insertRun(ctx.store, { target: 'gpu-3' });
      expect(await ctx.store.transact((tx) => tx.targetsSince('gpu-oom', since))).toEqual(['gpu-3']);
    });
  });

  describe('fleet breakers', () => {
    it('open once, move lastSeenAt on a touch, and close', async () => {
      const inTx = <T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> => ctx.store.transact(fn);
      expect(await inTx((tx) => tx.breaker('gpu-oom'))).toBeNull();
      const opened = await openAt(ctx);
      await sleep(5);
      await inTx((tx) => tx.openBreaker('gpu-oom'));
      expect(await inTx((tx) => tx.breaker('gpu-oom'))).toEqual({ runbook: 'gpu-oom', openedAt: opened, lastSeenAt: opened });
      const touched = await inTx(async (tx) => {
        await tx.touchBreaker('gpu-oom');
        return tx.now();
      });
      expect(touched).toBeGreaterThan(opened);
      expect(await inTx((tx) => tx.breaker('gpu-oom'))).toEqual({ runbook: 'gpu-oom', openedAt: opened, lastSeenAt: touched });
      await inTx((tx) => tx.closeBreaker('gpu-oom'));
      await inTx((tx) => tx.touchBreaker('gpu-oom'));
      expect(await inTx((tx) => tx.breaker('gpu-oom'))).toBeNull();
      expect(await ctx.store.openBreakers()).toEqual(new Map());
    });

    it('lists the open breakers by runbook and closes one on reset', async () => {
      await ctx.store.transact(async (tx) => {
        await tx.openBreaker('gpu-oom');
        await tx.openBreaker('hung');
        await tx.touchBreaker('never-opened');
      });
      expect([...(await ctx.store.openBreakers()).keys()].sort()).toEqual(['gpu-oom', 'hung']);
      await ctx.store.resetRunbook('gpu-oom');
      const open = await ctx.store.openBreakers();
      expect([...open.keys()]).toEqual(['hung']);
      expect(open.get('hung')).toMatchObject({ runbook: 'hung', openedAt: expect.any(Number) });
      expect(await ctx.store.transact((tx) => tx.breaker('gpu-oom'))).toBeNull();
    });

    it('opens afresh after a reset, with a new openedAt', async () => {
      const first = await openAt(ctx);
      await ctx.store.resetRunbook('gpu-oom');
      await sleep(5);
      const second = await openAt(ctx);
      expect(second).toBeGreaterThan(first);
      expect((await ctx.store.openBreakers()).get('gpu-oom')?.openedAt).toBe(second);
    });
  });

  describe('reset', () => {
    it('clears the attempt budgets of the runbook only, and counts runs started after it', async () => {
      const since = (await ctx.store.now()) - 60_000;
      await runToEnd(ctx.store, 'failed', { target: 't1' });
      await runToEnd(ctx.store, 'failed', { target: 't1' });
      await runToEnd(ctx.store, 'failed', { runbook: 'hung', target: 't1' });
      const attempts = (runbook: string): Promise<number> => ctx.store.transact((tx) => tx.attemptsSince(runbook, 't1', since));
      expect([await attempts('gpu-oom'), await attempts('hung')]).toEqual([2, 1]);
      await sleep(3);
      await ctx.store.resetRunbook('gpu-oom');
      expect([await attempts('gpu-oom'), await attempts('hung')]).toEqual([0, 1]);
      await sleep(3);
      await runToEnd(ctx.store, 'failed', { target: 't1' });
      expect(await attempts('gpu-oom')).toBe(1);
    });

    it('keeps the budget reset when the breaker opens and closes again', async () => {
      await runToEnd(ctx.store, 'failed', { target: 't1' });
      await sleep(3);
      await ctx.store.resetRunbook('gpu-oom');
      await ctx.store.transact(async (tx) => {
        await tx.openBreaker('gpu-oom');
        await tx.closeBreaker('gpu-oom');
      });
      expect(await ctx.store.transact((tx) => tx.attemptsSince('gpu-oom', 't1', 0))).toBe(0);
    });
  });
}
