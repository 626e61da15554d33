/** Contract: a tier's verification as the worker records it, and what reporting merges into a run. */

import { describe, expect, it } from '@jest/globals';
import type { VerifyRecord } from '../../src/core/verification.js';
import type { StoreContext } from './run-store-contract.js';
import { claim, insertRun, runToEnd } from './fixtures.js';

const VERIFY: VerifyRecord = {
  kind: 'promql',
  query: 'up{job="vllm"} == 1',
  everyMs: 1000,
  withinMs: 60_000,
  stableForMs: 0,
  checks: 3,
  errors: 0,
  lastResult: { at: '2026-12-01T10:00:00.000Z', resultType: 'vector', series: 1, text: 'up{job="vllm"} 1', truncated: false },
  error: null,
  outcome: 'running',
  startedAt: '2026-12-01T10:00:00.000Z',
  endedAt: null,
  holdingSince: null,
};

/** Registers the verification and run-report tests. */
export function describeReportContract(ctx: StoreContext): void {
  describe('verification records', () => {
    it('shows the latest verification of a tier, kept when the tier ends and when it starts again', async () => {
      const run = await insertRun(ctx.store);
      const fence = await claim(ctx.store, run.id);
      await ctx.store.startTier(run.id, fence, 0);
      expect(await ctx.store.recordVerify(run.id, fence, 0, { ...VERIFY, checks: 1 })).toBe(true);
      expect(await ctx.store.recordVerify(run.id, fence, 0, VERIFY)).toBe(true);
      await ctx.store.finishTier(run.id, fence, 0, 'failed', false);
      await ctx.store.startTier(run.id, fence, 0);
      const tiers = (await ctx.store.getRun(run.id))?.tiers ?? [];
      expect(tiers.map((t) => [t.state, t.verify])).toEqual([['running', VERIFY], ['pending', null]]);
    });

    it('records a verification for a tier with no row yet, and refuses a stale fence', async () => {
      const run = await insertRun(ctx.store);
      const old = await claim(ctx.store, run.id, 'w1');
      expect(await ctx.store.recordVerify(run.id, old, 1, VERIFY)).toBe(true);
      await ctx.store.releaseLease(run.id);
      await claim(ctx.store, run.id, 'w2');
      expect(await ctx.store.recordVerify(run.id, old, 1, { ...VERIFY, outcome: 'timed_out' })).toBe(false);
      expect((await ctx.store.getRun(run.id))?.tiers[1]).toMatchObject({ state: 'running', verify: VERIFY, verified: false });
    });
  });

  describe('run reports', () => {
    it('starts with nothing reported', async () => {
      const run = await insertRun(ctx.store);
      expect(await ctx.store.getRun(run.id)).toMatchObject({ annotations: null, silenceId: null, escalation: null });
    });

    it('merges each report: a given key replaces, an absent key stays, on a run that has ended too', async () => {
      const run = await runToEnd(ctx.store, 'failed');
      await ctx.store.setRunReport(run.id, { annotations: { grafana: { id: 41 } }, silenceId: 'sil-1' });
      await ctx.store.setRunReport(run.id, { escalation: { alertname: 'RemediationFailed', posted: true } });
      expect(await ctx.store.getRun(run.id)).toMatchObject({
        annotations: { grafana: { id: 41 } },
        silenceId: 'sil-1',
        escalation: { alertname: 'RemediationFailed', posted: true },
      });
      await ctx.store.setRunReport(run.id, { annotations: { grafana: { id: 41, error: 'timeout' } }, silenceId: null, escalation: undefined });
      await ctx.store.setRunReport(run.id, {});
      expect(await ctx.store.getRun(run.id)).toMatchObject({
        annotations: { grafana: { id: 41, error: 'timeout' } },
        silenceId: null,
        escalation: { alertname: 'RemediationFailed', posted: true },
      });
    });

    it('ignores a report about an unknown run', async () => {
      await expect(ctx.store.setRunReport('no-such-run', { silenceId: 'sil-9' })).resolves.toBeUndefined();
      expect(await ctx.store.getRun('no-such-run')).toBeNull();
    });
  });
}
