/** Contract: retention deletes ended runs past the cut-off with what hangs off them, in batches, and nothing active. */

import { describe, expect, it } from '@jest/globals';
import type { StoreContext } from './run-store-contract.js';
import { claim, insertRun, makeAlert, runToEnd, sleep } from './fixtures.js';

export function describeRetentionContract(ctx: StoreContext): void {
  describe('retention', () => {
    it('deletes ended runs created before the cut-off with their decisions and escalations, in batches, and keeps active and newer ones', async () => {
      const { store } = ctx;
      const ended = [];
      for (let i = 0; i < 5; i++) ended.push(await runToEnd(store, i % 2 === 0 ? 'succeeded' : 'failed', { target: `old-${i}` }));
      await store.recordEscalation({ runbook: 'gpu-oom', runId: ended[1]?.id ?? '', reason: 'failed', alert: ended[1]?.alert ?? makeAlert(), target: 'old-1' });
      const pending = await insertRun(store, { target: 'old-pending' });
      const running = await insertRun(store, { target: 'old-running' });
      await claim(store, running.id);
      const refused = makeAlert({ alertname: 'Refused' });
      await store.transact((tx) => tx.insertDecision({ alert: refused, runbook: null, decision: 'skip', reason: 'no_match', runId: null }));
      await sleep(5);
      const cutOff = await store.now();
      await sleep(5);
      const fresh = await runToEnd(store, 'succeeded', { target: 'new' });

      const first = await store.pruneEnded(cutOff, 2);
      expect(first).toMatchObject({ runs: 2 });
      const counts = [first];
      for (let i = 0; i < 5 && counts.at(-1)?.runs !== 0; i++) counts.push(await store.pruneEnded(cutOff, 2));
      const total = counts.reduce((a, c) => ({ runs: a.runs + c.runs, decisions: a.decisions + c.decisions, escalations: a.escalations + c.escalations }), { runs: 0, decisions: 0, escalations: 0 });
      // Five ended runs, their five decisions and the run-less refusal, the one escalation.
      expect(total).toEqual({ runs: 5, decisions: 6, escalations: 1 });

      for (const run of ended) expect(await store.getRun(run.id)).toBeNull();
      for (const run of [pending, running, fresh]) expect(await store.getRun(run.id)).not.toBeNull();
      const decisions = await store.listDecisions({}, { limit: 100, cursor: null });
      expect(decisions.items.map((d) => d.runId).sort()).toEqual([pending.id, running.id, fresh.id].sort());
      expect((await store.listEscalations({}, { limit: 100, cursor: null })).items).toEqual([]);
    });

    it('frees nothing that is still held: an episode whose run was pruned is not held by it any more, an active one still is', async () => {
      const { store } = ctx;
      const old = await runToEnd(store, 'succeeded', { target: 'gone' });
      const active = await insertRun(store, { target: 'kept' });
      await sleep(5);
      await store.pruneEnded(await store.now(), 100);
      await store.transact(async (tx) => {
        expect(await tx.findEpisode(old.runbook, old.alert.fingerprint, old.alert.startsAt)).toBeNull();
        expect(await tx.findEpisode(active.runbook, active.alert.fingerprint, active.alert.startsAt)).toMatchObject({ runId: active.id });
        expect(await tx.activeRunOf(active.runbook, 'kept')).toBe(active.id);
      });
    });
  });
}
