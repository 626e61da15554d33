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
      expect(item).toMatchObject({ ...recorded, postedAt: null, attempts: 0, lastError: null });
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

    it('hands out unposted escalations oldest first, whatever their attempts, up to the limit', async () => {
      for (const reason of ['r0', 'r1', 'r2', 'r3']) await ctx.store.recordEscalation(escalation({ reason }));
      const [r0, r1] = await ctx.store.pendingEscalations(2);
      expect([r0?.reason, r1?.reason]).toEqual(['r0', 'r1']);
      await ctx.store.markEscalation(r0?.id ?? '', { posted: false, error: 'connect ECONNREFUSED' });
      await ctx.store.markEscalation(r1?.id ?? '', { posted: true, error: null });
      const pending = await ctx.store.pendingEscalations(10);
      expect(pending.map((e) => [e.reason, e.attempts, e.lastError])).toEqual([
        ['r0', 1, 'connect ECONNREFUSED'],
        ['r2', 0, null],
        ['r3', 0, null],
      ]);
      expect(await ctx.store.pendingEscalations(0)).toEqual([]);
    });

    it('counts every attempt to post, stamps the one that reached Alertmanager, and keeps the last error', async () => {
      await ctx.store.recordEscalation(escalation({ reason: 'failed' }));
      const [pending] = await ctx.store.pendingEscalations(1);
      const id = pending?.id ?? '';
      await ctx.store.markEscalation(id, { posted: false, error: 'HTTP 503' });
      await ctx.store.markEscalation(id, { posted: false, error: 'timeout after 5000ms' });
      const [failing] = (await ctx.store.listEscalations({}, { limit: 1, cursor: null })).items;
      expect(failing).toMatchObject({ id, attempts: 2, postedAt: null, lastError: 'timeout after 5000ms' });
      const before = await ctx.store.now();
      await ctx.store.markEscalation(id, { posted: true, error: null });
      const [posted] = (await ctx.store.listEscalations({}, { limit: 1, cursor: null })).items;
      expect(posted).toMatchObject({ id, attempts: 3, lastError: null });
      expect(Date.parse(posted?.postedAt ?? '')).toBeGreaterThanOrEqual(before);
      expect(await ctx.store.pendingEscalations(10)).toEqual([]);
      await ctx.store.markEscalation(id, { posted: false, error: 'HTTP 500' });
      const [reposted] = (await ctx.store.listEscalations({}, { limit: 1, cursor: null })).items;
      expect(reposted).toMatchObject({ attempts: 4, postedAt: posted?.postedAt, lastError: 'HTTP 500' });
      await expect(ctx.store.markEscalation('no-such-escalation', { posted: true, error: null })).resolves.toBeUndefined();
    });

    it('refuses a malformed cursor', async () => {
      await expect(ctx.store.listEscalations({}, { limit: 5, cursor: 'not-a-cursor!' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    });
  });
}
