/** Contract: an episode is keyed on its instant; its resolution and Prometheus sightings are remembered; refusals fold. */

import { describe, expect, it } from '@jest/globals';
import type { NewDecision } from '../../src/history/run-store.js';
import type { StoreContext } from './run-store-contract.js';
import { claim, insertRun, makeAlert, makeRun, runDecision } from './fixtures.js';

/** Registers the episode-memory tests. */
export function describeEpisodeMemoryContract(ctx: StoreContext): void {
  describe('episode memory', () => {
    it('finds the holder of an episode under any spelling of its instant, and refuses a second run of it', async () => {
      const run = await insertRun(ctx.store, { alert: makeAlert({ startsAt: '2026-12-01T10:00:00Z' }) });
      for (const spelling of ['2026-12-01T10:00:00.000Z', '2026-12-01T11:00:00+01:00', '2026-12-01T10:00:00.000000Z']) {
        const holder = await ctx.store.transact((tx) => tx.findEpisode(run.runbook, run.alert.fingerprint, spelling));
        expect(holder?.runId).toBe(run.id);
      }
      const again = ctx.store.transact(async (tx) => {
        await tx.insertRun(makeRun(tx.now(), { alert: { ...run.alert, startsAt: '2026-12-01T11:00:00+01:00' } }));
      });
      await expect(again).rejects.toThrow();
      const nanoLater = await ctx.store.transact((tx) => tx.findEpisode(run.runbook, run.alert.fingerprint, '2026-12-01T10:00:00.000000001Z'));
      expect(nanoLater).toBeNull();
    });

    it('remembers that an episode resolved, under any spelling, and only that episode', async () => {
      const alert = makeAlert({ startsAt: '2026-12-01T10:00:00Z' });
      expect(await ctx.store.transact((tx) => tx.episodeResolved(alert.fingerprint, alert.startsAt))).toBe(false);
      await ctx.store.transact((tx) => tx.recordResolved(alert.fingerprint, '2026-12-01T10:00:00.000Z'));
      await ctx.store.transact((tx) => tx.recordResolved(alert.fingerprint, alert.startsAt));
      expect(await ctx.store.transact((tx) => tx.episodeResolved(alert.fingerprint, '2026-12-01T11:00:00+01:00'))).toBe(true);
      expect(await ctx.store.transact((tx) => tx.episodeResolved(alert.fingerprint, '2026-12-01T10:05:00Z'))).toBe(false);
      expect((await ctx.store.episodeFacts(alert.fingerprint, alert.startsAt)).resolvedAt).toEqual(expect.any(Number));
    });

    it('remembers a Prometheus sighting of an episode apart from its resolution', async () => {
      const alert = makeAlert();
      expect(await ctx.store.episodeFacts(alert.fingerprint, alert.startsAt)).toEqual({ resolvedAt: null, prometheusSeenAt: null });
      await ctx.store.recordPrometheusSighting(alert.fingerprint, alert.startsAt);
      expect(await ctx.store.episodeFacts(alert.fingerprint, alert.startsAt)).toEqual({ resolvedAt: null, prometheusSeenAt: expect.any(Number) });
      expect(await ctx.store.episodeFacts(alert.fingerprint, '2030-01-01T00:00:00Z')).toEqual({ resolvedAt: null, prometheusSeenAt: null });
    });

    it('folds every repeat of one refusal (episode, runbook, reason) into one row, and keeps other refusals apart', async () => {
      const alert = makeAlert();
      const refuse = (over: Partial<NewDecision>): Promise<number> =>
        ctx.store.transact(async (tx) => (await tx.insertDecision({ alert, runbook: 'gpu-oom', decision: 'skip', reason: 'param_invalid', runId: null, ...over })).deliveries);
      const first = await Promise.all(Array.from({ length: 50 }, () => refuse({})));
      expect(first.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await refuse({ reason: 'paused' })).toBe(1);
      expect(await refuse({ runbook: 'other' })).toBe(1);
      expect(await refuse({ runbook: null, reason: 'no_match' })).toBe(1);
      expect(await refuse({ runbook: null, reason: 'no_match' })).toBe(2);
      expect(await refuse({ alert: { ...alert, startsAt: '2030-01-01T00:00:00Z' } })).toBe(1);
      const rows = await ctx.store.listDecisions({}, { limit: 100, cursor: null });
      expect(rows.items).toHaveLength(5);
      expect(rows.items.find((d) => d.reason === 'param_invalid' && d.runbook === 'gpu-oom' && d.deliveries === 50)).toBeDefined();
    });

    it('never folds run decisions: each run keeps its own', async () => {
      const a = await insertRun(ctx.store);
      const b = await insertRun(ctx.store);
      const rows = await ctx.store.listDecisions({}, { limit: 10, cursor: null });
      expect(rows.items.map((d) => d.runId).sort()).toEqual([a.id, b.id].sort());
    });

    it('cancels a run awaiting approval from inside a delivery, and nothing else', async () => {
      const run = await insertRun(ctx.store);
      expect(await ctx.store.transact((tx) => tx.cancelAwaiting(run.id, 'resolved'))).toBe(false);
      const fence = await claim(ctx.store, run.id);
      await ctx.store.awaitApproval(run.id, fence, 0, 60_000);
      expect(await ctx.store.transact((tx) => tx.cancelAwaiting(run.id, 'resolved'))).toBe(true);
      expect(await ctx.store.getRun(run.id)).toMatchObject({ state: 'canceled', reason: 'resolved' });
    });

    it('tells the holder whether its stored plan cancels on resolve', async () => {
      const run = makeRun(await ctx.store.now());
      await ctx.store.transact(async (tx) => {
        await tx.insertRun({ ...run, plan: { ...run.plan, cancelOnResolve: true } });
        await tx.insertDecision(runDecision(run));
      });
      const holder = await ctx.store.transact((tx) => tx.findEpisode(run.runbook, run.alert.fingerprint, run.alert.startsAt));
      expect(holder?.cancelOnResolve).toBe(true);
    });

    it('hands out pending escalations of runs before those of refusals, however many refusals wait', async () => {
      for (let i = 0; i < 30; i++) await ctx.store.recordEscalation({ runbook: 'gpu-oom', runId: null, reason: 'param_invalid', alert: makeAlert(), target: null });
      const run = await insertRun(ctx.store);
      await ctx.store.recordEscalation({ runbook: 'gpu-oom', runId: run.id, reason: 'failed', alert: run.alert, target: run.target });
      const [first] = await ctx.store.pendingEscalations(5);
      expect(first).toMatchObject({ runId: run.id, reason: 'failed' });
    });
  });
}
