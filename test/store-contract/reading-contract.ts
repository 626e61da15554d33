/** Contract: pauses, the API's listings and a run in full. */

import { describe, expect, it } from '@jest/globals';
import type { RunSummary, StepResult } from '../../src/core/run.js';
import type { RunFilter, RunStore } from '../../src/history/run-store.js';
import type { StoreContext } from './run-store-contract.js';
import { claim, insertRun, makeAlert, makeRun, runDecision, sleep } from './fixtures.js';

async function listAll(store: RunStore, filter: RunFilter, limit: number): Promise<RunSummary[]> {
  const seen: RunSummary[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.listRuns(filter, { limit, cursor });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    seen.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return seen;
}

/** Inserts count runs per transaction, rounds times, so createdAt both ties and differs. */
async function seedRuns(store: RunStore, rounds: number, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let r = 0; r < rounds; r++) {
    await store.transact(async (tx) => {
      for (let i = 0; i < count; i++) {
        const run = makeRun(tx.now(), { runbook: i % 3 === 0 ? 'hung' : 'gpu-oom', target: `host-${i % 4}` });
        await tx.insertRun(run);
        await tx.insertDecision(runDecision(run));
        ids.push(run.id);
      }
    });
    await sleep(3);
  }
  return ids;
}

function outputOf(stdout: string, ok: boolean): StepResult {
  return {
    ok, exitCode: ok ? 0 : 2, signal: null, timedOut: false, stoppedBy: null, stdout, stderr: ok ? '' : 'boom',
    stdoutTruncated: false, stderrTruncated: !ok, startedAt: 1_700_000_000_000, endedAt: 1_700_000_001_000, error: null,
  };
}

/** Registers the pause, listing and run-detail tests. */
export function describeReadingContract(ctx: StoreContext): void {
  it('keeps pauses across close and reopen', async () => {
    await ctx.store.setGlobalPause(true);
    await ctx.store.setRunbookPause('gpu-oom', true);
    await ctx.store.setRunbookPause('hung', true);
    await ctx.store.setRunbookPause('hung', false);
    await ctx.store.close();
    await ctx.store.open();
    expect(await ctx.store.globalPaused()).toBe(true);
    expect(await ctx.store.pausedRunbooks()).toEqual(new Set(['gpu-oom']));
    const inTx = await ctx.store.transact(async (tx) => [await tx.globalPaused(), await tx.runbookPaused('gpu-oom'), await tx.runbookPaused('hung')]);
    expect(inTx).toEqual([true, true, false]);
    await ctx.store.setGlobalPause(false);
    expect(await ctx.store.globalPaused()).toBe(false);
  });

  describe('listing runs', () => {
    it('pages through 120 runs newest first, each exactly once', async () => {
      const ids = await seedRuns(ctx.store, 6, 20);
      const seen = await listAll(ctx.store, {}, 7);
      expect(seen.map((r) => r.id).sort()).toEqual([...ids].sort());
      const order = seen.map((r) => [r.createdAt, r.id].join(' '));
      expect(order).toEqual([...order].sort().reverse());
    });

    it('applies every filter, and pages within a filter', async () => {
      const ids = await seedRuns(ctx.store, 2, 12);
      const hung = await listAll(ctx.store, { runbook: 'hung' }, 3);
      expect(hung).toHaveLength(8);
      expect(hung.every((r) => r.runbook === 'hung')).toBe(true);
      expect(await listAll(ctx.store, { target: 'host-1', runbook: 'gpu-oom' }, 3)).toHaveLength(4);
      const one = await ctx.store.getRun(ids[5] ?? '');
      const byFingerprint = await listAll(ctx.store, { fingerprint: one?.fingerprint, alertname: 'LLMServerDown' }, 10);
      expect(byFingerprint.map((r) => r.id)).toEqual([ids[5]]);
      expect(await listAll(ctx.store, { faultClass: 'oom', state: 'pending' }, 50)).toHaveLength(24);
      expect(await listAll(ctx.store, { state: 'running' }, 50)).toHaveLength(0);
      expect(await listAll(ctx.store, { faultClass: 'gpu-xid' }, 50)).toHaveLength(0);
    });

    it('takes since as inclusive and until as exclusive on createdAt', async () => {
      await seedRuns(ctx.store, 3, 2);
      const all = await listAll(ctx.store, {}, 50);
      const middle = Date.parse(all[2]?.createdAt ?? '');
      const from = await listAll(ctx.store, { since: middle }, 50);
      const before = await listAll(ctx.store, { until: middle }, 50);
      expect(from.map((r) => r.id)).toEqual(all.slice(0, 4).map((r) => r.id));
      expect(before.map((r) => r.id)).toEqual(all.slice(4).map((r) => r.id));
    });

    it.each(['not-a-cursor!', 'bm9wZQ', ''])('refuses the malformed cursor %j', async (cursor) => {
      await expect(ctx.store.listRuns({}, { limit: 5, cursor })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'cursor is not valid' });
      await expect(ctx.store.listDecisions({}, { limit: 5, cursor })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    });
  });

  it('lists decisions newest first with filters and paging', async () => {
    await seedRuns(ctx.store, 2, 3);
    await ctx.store.transact(async (tx) => {
      await tx.insertDecision({ alert: makeAlert({ alertname: 'Other' }), runbook: null, decision: 'skip', reason: 'no_match', runId: null });
      await tx.insertDecision({ alert: makeAlert(), runbook: 'hung', decision: 'skip', reason: 'paused', runId: null });
    });
    const first = await ctx.store.listDecisions({}, { limit: 5, cursor: null });
    const rest = await ctx.store.listDecisions({}, { limit: 5, cursor: first.nextCursor });
    expect(first.items).toHaveLength(5);
    expect(rest.items).toHaveLength(3);
    expect(rest.nextCursor).toBeNull();
    expect(first.items[0]).toMatchObject({ runbook: 'hung', decision: 'skip', reason: 'paused', runId: null, deliveries: 1, status: 'firing' });
    expect((await ctx.store.listDecisions({ decision: 'skip' }, { limit: 50, cursor: null })).items).toHaveLength(2);
    expect((await ctx.store.listDecisions({ reason: 'no_match' }, { limit: 50, cursor: null })).items[0]?.runbook).toBeNull();
    expect((await ctx.store.listDecisions({ alertname: 'Other' }, { limit: 50, cursor: null })).items).toHaveLength(1);
    expect((await ctx.store.listDecisions({ runbook: 'hung' }, { limit: 50, cursor: null })).items).toHaveLength(3);
    const later = await ctx.store.listDecisions({ since: (await ctx.store.now()) + 1000 }, { limit: 50, cursor: null });
    expect(later.items).toHaveLength(0);
  });

  it('shows a run in full: every planned tier and step, merged with what ran', async () => {
    const run = await insertRun(ctx.store, { alert: makeAlert({ fingerprint: 'f00dfeedf00dfeed' }) });
    const fence = await claim(ctx.store, run.id);
    const at = (stepIndex: number, phase: 'steps' | 'onFailure' = 'steps') => ({ tierIndex: 0, phase, stepIndex }) as const;
    await ctx.store.startTier(run.id, fence, 0);
    for (const [key, ok] of [[at(0), true], [at(1), false], [at(0, 'onFailure'), true]] as const) {
      await ctx.store.startStep(run.id, fence, { ...key, name: `s${key.stepIndex}`, kind: 'run', argv: ['echo', 'x'], host: 'gpu-1' });
      await ctx.store.finishStep(run.id, fence, key, ok ? 'succeeded' : 'failed', outputOf('hello', ok), 1);
    }
    await ctx.store.finishTier(run.id, fence, 0, 'failed', false);
    await ctx.store.startTier(run.id, fence, 1);
    const detail = await ctx.store.getRun(run.id);
    expect(detail).toMatchObject({ id: run.id, state: 'running', runbook: 'gpu-oom', fingerprint: 'f00dfeedf00dfeed', deliveries: 1 });
    expect(detail?.alert).toEqual(run.alert);
    expect(detail?.plan).toEqual(run.plan);
    expect(detail?.params).toEqual({ host: 'gpu-1' });
    const [tier0, tier1] = detail?.tiers ?? [];
    expect(tier0).toMatchObject({ name: 'instance', state: 'failed', verified: false });
    expect(tier0?.steps.map((s) => [s.phase, s.state, s.exitCode])).toEqual([
      ['steps', 'succeeded', 0],
      ['steps', 'failed', 2],
      ['onFailure', 'succeeded', 0],
    ]);
    expect(tier0?.steps[1]).toMatchObject({ stdout: 'hello', stderr: 'boom', stderrTruncated: true, host: 'gpu-1', attempts: 1, endedAt: '2023-11-14T22:13:21.000Z' });
    expect(tier1).toMatchObject({ name: 'service', state: 'running' });
    expect(tier1?.steps).toMatchObject([{ name: 'c', state: 'pending', argv: ['echo', 'c'], attempts: 0, startedAt: null }]);
  });

  it('records a shadow run as ended at once', async () => {
    const run = await insertRun(ctx.store, { state: 'shadow' });
    const detail = await ctx.store.getRun(run.id);
    expect(detail).toMatchObject({ state: 'shadow', reason: 'shadow', mode: 'shadow' });
    expect(detail?.endedAt).not.toBeNull();
    expect(await ctx.store.getRun('no-such-run')).toBeNull();
  });
}
