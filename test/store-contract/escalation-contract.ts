/** Contract: escalations recorded inside and outside transactions, and their newest-first listing. */

import { describe, expect, it } from '@jest/globals';
import type { Escalation, NewEscalation, RunStore } from '../../src/history/run-store.js';
import type { StoreContext } from './run-store-contract.js';
import { makeAlert } from './fixtures.js';

function escalation(over: Partial<NewEscalation> = {}): NewEscalation {
  return { runbook: 'gpu-oom', runId: null, reason: 'attempts_exhausted', alert: makeAlert(), target: 'gpu-1', ...over };
}

async function listAll(store: RunStore, filter: { runbook?: string; runId?: string }, limit: number): Promise<Escalation[]> {
  const seen: Escalation[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.listEscalations(filter, { limit, cursor });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    seen.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return seen;
}

/** Registers the escalation tests. */
export function describeEscalationContract(ctx: StoreContext): void {
  describe('escalations', () => {
    it('keeps every field of an escalation, with an id and the store time', async () => {
      const before = await ctx.store.now();
      const recorded = escalation({ runId: 'run-1', reason: 'failed', alert: makeAlert({ alertname: 'GpuOom' }) });
      await ctx.store.recordEscalation(recorded);
      const [item, ...rest] = (await ctx.store.listEscalations({}, { limit: 10, cursor: null })).items;
      expect(rest).toEqual([]);
      expect(item).toMatchObject(recorded);
      expect(item?.alert).toEqual(recorded.alert);
      expect(item?.id).toEqual(expect.any(String));
      expect(Date.parse(item?.createdAt ?? '')).toBeGreaterThanOrEqual(before);
    });

    it('records an escalation with its transaction, and drops it when the transaction rolls back', async () => {
      await ctx.store.transact((tx) => tx.recordEscalation(escalation({ reason: 'fleet_breaker', target: null })));
      const failing = ctx.store.transact(async (tx) => {
        await tx.recordEscalation(escalation({ reason: 'param_invalid' }));
        throw new Error('guard bug');
      });
      await expect(failing).rejects.toThrow('guard bug');
      const items = (await ctx.store.listEscalations({}, { limit: 10, cursor: null })).items;
      expect(items.map((e) => [e.reason, e.target])).toEqual([['fleet_breaker', null]]);
    });

    it('lists newest first, filtered by runbook or run, across pages', async () => {
      const reasons: string[] = [];
      for (let i = 0; i < 7; i++) {
        const reason = `r${i}`;
        reasons.push(reason);
        const e = escalation({ reason, runbook: i % 2 === 0 ? 'gpu-oom' : 'hung', runId: i === 3 ? 'run-3' : null });
        if (i % 3 === 0) await ctx.store.transact((tx) => tx.recordEscalation(e));
        else await ctx.store.recordEscalation(e);
      }
      const newestFirst = [...reasons].reverse();
      expect((await listAll(ctx.store, {}, 3)).map((e) => e.reason)).toEqual(newestFirst);
      expect((await listAll(ctx.store, { runbook: 'hung' }, 2)).map((e) => e.reason)).toEqual(['r5', 'r3', 'r1']);
      expect((await listAll(ctx.store, { runId: 'run-3' }, 2)).map((e) => e.reason)).toEqual(['r3']);
      expect((await listAll(ctx.store, { runbook: 'gpu-oom', runId: 'run-3' }, 2))).toEqual([]);
      const first = await ctx.store.listEscalations({}, { limit: 7, cursor: null });
      expect(first.nextCursor).toBeNull();
    });

    it('refuses a malformed cursor', async () => {
      await expect(ctx.store.listEscalations({}, { limit: 5, cursor: 'not-a-cursor!' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    });
  });
}
