/** Contract: the store-wide counts behind the scrape-time gauges (runs awaiting approval, leases that lapsed). */

import { describe, expect, it } from '@jest/globals';
import type { StoreContext } from './run-store-contract.js';
import { claim, insertRun, runToEnd, sleep } from './fixtures.js';

/** Registers the counting tests. */
export function describeCountsContract(ctx: StoreContext): void {
  describe('counts for the gauges', () => {
    it('counts nothing in an empty store', async () => {
      expect(await ctx.store.runCounts()).toEqual({ awaitingApproval: 0, leaseExpired: 0 });
    });

    it('counts runs awaiting approval until they are approved, canceled or time out', async () => {
      const waiting: string[] = [];
      for (const target of ['gpu-1', 'gpu-2', 'gpu-3']) {
        const run = await insertRun(ctx.store, { target });
        const fence = await claim(ctx.store, run.id, 'w1');
        expect(await ctx.store.awaitApproval(run.id, fence, 0, target === 'gpu-3' ? 1 : 60_000)).toBe(true);
        waiting.push(run.id);
      }
      // Neither a pending, a running nor an ended run is waiting for a person.
      await insertRun(ctx.store, { target: 'gpu-4' });
      await claim(ctx.store, (await insertRun(ctx.store, { target: 'gpu-5' })).id, 'w1');
      await runToEnd(ctx.store, 'succeeded', { target: 'gpu-6' });
      expect((await ctx.store.runCounts()).awaitingApproval).toBe(3);
      expect(await ctx.store.approveRun(waiting[0] as string, 'alice')).toBe('running');
      expect(await ctx.store.cancelRun(waiting[1] as string, 'canceled')).toBe('canceled');
      await sleep(20);
      expect((await ctx.store.expireApprovals()).map((r) => r.id)).toEqual([waiting[2]]);
      expect((await ctx.store.runCounts()).awaitingApproval).toBe(0);
    });

    it('counts a running run whose lease lapsed until a sweep releases it, and never a live or released lease', async () => {
      const lapsing = await insertRun(ctx.store, { target: 'gpu-1' });
      const live = await insertRun(ctx.store, { target: 'gpu-2' });
      const released = await insertRun(ctx.store, { target: 'gpu-3' });
      await claim(ctx.store, lapsing.id, 'w1', 100);
      await claim(ctx.store, live.id, 'w1', 60_000);
      await claim(ctx.store, released.id, 'w1', 100);
      await ctx.store.releaseLease(released.id);
      expect((await ctx.store.runCounts()).leaseExpired).toBe(0);
      await sleep(250);
      expect(await ctx.store.runCounts()).toEqual({ awaitingApproval: 0, leaseExpired: 1 });
      expect((await ctx.store.expiredRuns('w2', false)).map((r) => r.runId)).toEqual([lapsing.id]);
      await ctx.store.releaseLease(lapsing.id);
      expect((await ctx.store.runCounts()).leaseExpired).toBe(0);
    });
  });
}
