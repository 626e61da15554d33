/** Contract: a run waiting for a person at a tier, approved, timed out or canceled while it waits. */

import { describe, expect, it } from '@jest/globals';
import type { RunStore } from '../../src/history/run-store.js';
import type { StoreContext } from './run-store-contract.js';
import { claim, insertRun } from './fixtures.js';

/** Inserts and claims a run and puts it to wait at tier 1; returns its id and the fence it waited with. */
async function awaiting(store: RunStore, o: { target?: string; timeoutMs?: number } = {}): Promise<{ id: string; fence: number }> {
  const run = await insertRun(store, { target: o.target ?? 'gpu-1' });
  const fence = await claim(store, run.id, 'w1');
  expect(await store.awaitApproval(run.id, fence, 1, o.timeoutMs ?? 60_000)).toBe(true);
  return { id: run.id, fence };
}

/** Registers the approval tests. */
export function describeApprovalContract(ctx: StoreContext): void {
  describe('approval waits', () => {
    it('waits with no lease, a deadline and its tier, and still holds its target', async () => {
      const before = await ctx.store.now();
      const { id, fence } = await awaiting(ctx.store, { target: 'gpu-7', timeoutMs: 1_800_000 });
      const after = await ctx.store.now();
      const run = await ctx.store.getRun(id);
      expect(run).toMatchObject({ state: 'awaiting_approval', approvalTier: 1, approvedBy: null, approvedAt: null });
      const deadline = Date.parse(run?.approvalDeadline ?? '');
      expect(deadline).toBeGreaterThanOrEqual(before + 1_800_000);
      expect(deadline).toBeLessThanOrEqual(after + 1_800_000);
      expect((await ctx.store.renewLease(id, 'w1', fence, 1000)).held).toBe(false);
      expect(await ctx.store.startTier(id, fence, 1)).toBe(false);
      expect(await ctx.store.expiredRuns('w2', true)).toEqual([]);
      const other = await insertRun(ctx.store, { target: 'gpu-7', runbook: 'other' });
      const facts = await ctx.store.transact(async (tx) => ({
        held: await tx.targetHeld('gpu-7', other.id),
        candidates: (await tx.claimCandidates(10)).map((c) => c.runId),
      }));
      expect(facts).toEqual({ held: true, candidates: [other.id] });
      await expect(claim(ctx.store, other.id)).rejects.toThrow();
    });

    it('refuses to wait under a stale fence or for a run that is not running', async () => {
      const run = await insertRun(ctx.store);
      expect(await ctx.store.awaitApproval(run.id, 0, 0, 1000)).toBe(false);
      const old = await claim(ctx.store, run.id, 'w1');
      await ctx.store.releaseLease(run.id);
      const fresh = await claim(ctx.store, run.id, 'w2');
      expect(await ctx.store.awaitApproval(run.id, old, 0, 1000)).toBe(false);
      expect((await ctx.store.getRun(run.id))?.state).toBe('running');
      expect(await ctx.store.awaitApproval(run.id, fresh, 0, 1000)).toBe(true);
      expect(await ctx.store.awaitApproval(run.id, fresh, 0, 1000)).toBe(false);
    });

    it('resumes an approved run: running with no owner, offered as resumed, with who and when', async () => {
      const { id, fence } = await awaiting(ctx.store);
      const before = await ctx.store.now();
      expect(await ctx.store.approveRun(id, 'alice')).toBe('running');
      const approved = await ctx.store.getRun(id);
      expect(approved).toMatchObject({ state: 'running', approvedBy: 'alice', approvalTier: 1 });
      expect(Date.parse(approved?.approvedAt ?? '')).toBeGreaterThanOrEqual(before);
      expect((await ctx.store.renewLease(id, 'w1', fence, 1000)).held).toBe(false);
      const candidates = await ctx.store.transact((tx) => tx.claimCandidates(10));
      expect(candidates).toMatchObject([{ runId: id, resumed: true }]);
      const next = await claim(ctx.store, id, 'w2');
      expect(next).toBe(fence + 1);
      expect((await ctx.store.renewLease(id, 'w2', next, 1000)).held).toBe(true);
      expect(await ctx.store.startTier(id, next, 1)).toBe(true);
      expect(await ctx.store.startTier(id, fence, 1)).toBe(false);
    });

    it('leaves a run that does not wait as it is, and knows no unknown run', async () => {
      const pending = await insertRun(ctx.store);
      const { id } = await awaiting(ctx.store, { target: 'gpu-2' });
      expect(await ctx.store.approveRun(id, 'alice')).toBe('running');
      expect(await ctx.store.approveRun(id, 'bob')).toBe('running');
      expect(await ctx.store.approveRun(pending.id, 'bob')).toBe('pending');
      expect(await ctx.store.approveRun('no-such-run', 'bob')).toBeNull();
      expect(await ctx.store.getRun(id)).toMatchObject({ approvedBy: 'alice' });
      expect(await ctx.store.getRun(pending.id)).toMatchObject({ state: 'pending', approvedBy: null, approvedAt: null });
    });

    it('asks again for approval when a later tier waits, forgetting the earlier approver', async () => {
      const { id } = await awaiting(ctx.store);
      await ctx.store.approveRun(id, 'alice');
      const fence = await claim(ctx.store, id, 'w2');
      expect(await ctx.store.awaitApproval(id, fence, 2, 60_000)).toBe(true);
      expect(await ctx.store.getRun(id)).toMatchObject({ state: 'awaiting_approval', approvalTier: 2, approvedBy: null, approvedAt: null });
    });

    it('fails the runs whose wait is over with approval_timeout, and returns them once', async () => {
      const late = await awaiting(ctx.store, { target: 'gpu-1', timeoutMs: 0 });
      const waiting = await awaiting(ctx.store, { target: 'gpu-2', timeoutMs: 60_000 });
      const expired = await ctx.store.expireApprovals();
      expect(expired).toMatchObject([{ id: late.id, state: 'failed', reason: 'approval_timeout' }]);
      expect(expired[0]?.endedAt).not.toBeNull();
      expect(expired[0]?.alert.fingerprint).toEqual(expect.any(String));
      expect(await ctx.store.expireApprovals()).toEqual([]);
      expect((await ctx.store.getRun(waiting.id))?.state).toBe('awaiting_approval');
      expect(await ctx.store.approveRun(late.id, 'alice')).toBe('failed');
      const next = await insertRun(ctx.store, { target: 'gpu-1', runbook: 'other' });
      expect(await ctx.store.transact((tx) => tx.targetHeld('gpu-1', next.id))).toBe(false);
    });

    it('cancels a waiting run at once and frees its target', async () => {
      const { id } = await awaiting(ctx.store, { timeoutMs: 0 });
      expect(await ctx.store.cancelRun(id, 'canceled')).toBe('canceled');
      const canceled = await ctx.store.getRun(id);
      expect(canceled).toMatchObject({ state: 'canceled', reason: 'canceled' });
      expect(canceled?.endedAt).not.toBeNull();
      expect(await ctx.store.expireApprovals()).toEqual([]);
      expect(await ctx.store.approveRun(id, 'alice')).toBe('canceled');
      const next = await insertRun(ctx.store, { target: 'gpu-1', runbook: 'other' });
      expect(await claim(ctx.store, next.id)).toBe(1);
    });
  });
}
