/** Contract: the guard's facts at receive time (episodes, deliveries, active runs, attempts, outcomes). */

import { describe, expect, it } from '@jest/globals';
import type { StoreContext } from './run-store-contract.js';
import { insertRun, makeAlert, makeRun, runDecision, runToEnd } from './fixtures.js';

/** Registers the episode and guard-fact tests. */
export function describeEpisodeContract(ctx: StoreContext): void {
  describe('episodes', () => {
    it('finds the run holding an episode key and the decision that created it', async () => {
      const run = await insertRun(ctx.store);
      const holder = await ctx.store.transact((tx) => tx.findEpisode(run.runbook, run.alert.fingerprint, run.alert.startsAt));
      const decisions = await ctx.store.listDecisions({}, { limit: 10, cursor: null });
      expect(holder).toEqual({ runId: run.id, decisionId: decisions.items[0]?.id, state: 'pending', endedAt: null, cancelOnResolve: false });
      const other = await ctx.store.transact((tx) => tx.findEpisode(run.runbook, run.alert.fingerprint, '2030-01-01T00:00:00Z'));
      expect(other).toBeNull();
    });

    it('refuses a second run of one episode and rolls back the whole transaction', async () => {
      const first = await insertRun(ctx.store);
      const attempt = ctx.store.transact(async (tx) => {
        const unrelated = makeRun(tx.now());
        await tx.insertRun(unrelated);
        await tx.insertDecision(runDecision(unrelated));
        const again = makeRun(tx.now(), { alert: first.alert });
        await tx.insertRun(again);
        await tx.insertDecision(runDecision(again));
      });
      await expect(attempt).rejects.toThrow();
      const runs = await ctx.store.listRuns({}, { limit: 10, cursor: null });
      const decisions = await ctx.store.listDecisions({}, { limit: 10, cursor: null });
      expect(runs.items.map((r) => r.id)).toEqual([first.id]);
      expect(decisions.items).toHaveLength(1);
    });

    it('counts each delivery of an episode on its original decision', async () => {
      const run = await insertRun(ctx.store);
      const holder = await ctx.store.transact((tx) => tx.findEpisode(run.runbook, run.alert.fingerprint, run.alert.startsAt));
      await ctx.store.transact((tx) => tx.addDelivery(holder?.decisionId ?? ''));
      const decision = await ctx.store.transact((tx) => tx.addDelivery(holder?.decisionId ?? ''));
      expect(decision).toMatchObject({ runId: run.id, decision: 'run', deliveries: 3 });
      expect((await ctx.store.getRun(run.id))?.deliveries).toBe(3);
    });

    it('makes exactly one run when 200 deliveries of one episode race', async () => {
      const alert = makeAlert();
      const deliver = (): Promise<string> =>
        ctx.store.transact(async (tx) => {
          const holder = await tx.findEpisode('gpu-oom', alert.fingerprint, alert.startsAt);
          if (holder !== null) return (await tx.addDelivery(holder.decisionId)).id;
          const run = makeRun(tx.now(), { alert });
          await tx.insertRun(run);
          return (await tx.insertDecision(runDecision(run))).id;
        });
      const ids = await Promise.all(Array.from({ length: 200 }, deliver));
      const runs = await ctx.store.listRuns({}, { limit: 500, cursor: null });
      const decisions = await ctx.store.listDecisions({}, { limit: 500, cursor: null });
      expect(runs.items).toHaveLength(1);
      expect(new Set(ids).size).toBe(1);
      expect(decisions.items.map((d) => d.deliveries)).toEqual([200]);
    });
  });

  describe('guard facts', () => {
    it('sees a pending or running run as active, and an ended one as not', async () => {
      const run = await insertRun(ctx.store, { target: 't1' });
      const active = (runbook: string): Promise<string | null> => ctx.store.transact((tx) => tx.activeRunOf(runbook, 't1'));
      expect(await active('gpu-oom')).toBe(run.id);
      expect(await active('other-runbook')).toBeNull();
      const fence = await ctx.store.transact((tx) => tx.claim(run.id, 'w', 30_000));
      expect(await active('gpu-oom')).toBe(run.id);
      await ctx.store.finishRun(run.id, fence, 'succeeded', 'verified');
      expect(await active('gpu-oom')).toBeNull();
    });

    it('counts attempts only for runs that executed a step and started since the given time', async () => {
      const before = await ctx.store.now();
      await runToEnd(ctx.store, 'failed', { target: 't1' });
      await runToEnd(ctx.store, 'succeeded', { target: 't1' });
      await runToEnd(ctx.store, 'canceled', { target: 't1', executed: false });
      await runToEnd(ctx.store, 'failed', { target: 't2' });
      const count = (since: number): Promise<number> => ctx.store.transact((tx) => tx.attemptsSince('gpu-oom', 't1', since));
      expect(await count(before)).toBe(2);
      expect(await count((await ctx.store.now()) + 1)).toBe(0);
    });

    it.each([
      [['succeeded', 'failed', 'interrupted'], 2],
      [['failed', 'failed', 'succeeded'], 0],
      [['failed'], 1],
    ] as const)('after runs ending %j, reports %d consecutive failures', async (states, failures) => {
      for (const state of states) await runToEnd(ctx.store, state, { target: 't1' });
      // A run that never executed a step is not an outcome.
      await runToEnd(ctx.store, 'canceled', { target: 't1', executed: false });
      const last = await ctx.store.transact((tx) => tx.lastOutcome('gpu-oom', 't1'));
      const latest = (await ctx.store.listRuns({ target: 't1' }, { limit: 1, cursor: null })).items[0];
      const lastExecuted = (await ctx.store.listRuns({ target: 't1' }, { limit: 2, cursor: null })).items[1];
      expect(latest?.state).toBe('canceled');
      expect(last).toEqual({ endedAt: Date.parse(lastExecuted?.endedAt ?? ''), consecutiveFailures: failures });
    });

    it('reports no outcome for a target that never ran', async () => {
      await runToEnd(ctx.store, 'failed', { target: 't1', executed: false });
      expect(await ctx.store.transact((tx) => tx.lastOutcome('gpu-oom', 't1'))).toBeNull();
    });
  });
}
