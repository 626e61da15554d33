/** Contract: what a step records beyond its output (evidence, the host it ran on) and which processes the sweep may kill. */

import { describe, expect, it } from '@jest/globals';
import type { StepResult } from '../../src/core/run.js';
import type { StoreContext } from './run-store-contract.js';
import { claim, insertRun, sleep } from './fixtures.js';

const STEP = { tierIndex: 0, phase: 'steps', stepIndex: 0 } as const;
const SECOND = { tierIndex: 0, phase: 'steps', stepIndex: 1 } as const;

function result(over: Partial<StepResult> = {}): StepResult {
  return {
    ok: true, exitCode: 0, signal: null, timedOut: false, stoppedBy: null, stdout: '', stderr: '',
    stdoutTruncated: false, stderrTruncated: false, startedAt: 1_700_000_000_000, endedAt: 1_700_000_001_000, error: null, ...over,
  };
}

const EVIDENCE = {
  gpus: [{ index: 0, uuid: 'GPU-1', memoryUsedMiB: 61_440, memoryTotalMiB: 81_559 }],
  processes: [{ pid: 4242, name: 'python3', usedMemoryMiB: 61_440 }],
};

/** Registers the evidence, host and process-record tests. */
export function describeStepRecordContract(ctx: StoreContext): void {
  describe('step records', () => {
    it('shows the evidence and host a step finished with', async () => {
      const run = await insertRun(ctx.store);
      const fence = await claim(ctx.store, run.id);
      await ctx.store.startStep(run.id, fence, { ...STEP, name: 'a', kind: 'capture', argv: null, host: 'gpu-1' });
      await ctx.store.finishStep(run.id, fence, STEP, 'succeeded', result({ evidence: EVIDENCE, host: 'gpu-1.internal' }), 1);
      await ctx.store.startStep(run.id, fence, { ...SECOND, name: 'b', kind: 'run', argv: ['true'], host: 'gpu-2' });
      await ctx.store.finishStep(run.id, fence, SECOND, 'succeeded', result(), 1);
      const [first, second] = (await ctx.store.getRun(run.id))?.tiers[0]?.steps ?? [];
      expect(first).toMatchObject({ kind: 'capture', host: 'gpu-1.internal', evidence: EVIDENCE });
      // A result without a host keeps the one the step started with.
      expect(second).toMatchObject({ host: 'gpu-2', evidence: null });
    });

    it('records the URL an http step called as its host, even when it never started', async () => {
      const run = await insertRun(ctx.store);
      const fence = await claim(ctx.store, run.id);
      const answer = { status: 200, body: { ok: true } };
      await ctx.store.finishStep(run.id, fence, STEP, 'failed', result({ ok: false, host: 'https://ops.example/drain', evidence: answer }), 2);
      const step = (await ctx.store.getRun(run.id))?.tiers[0]?.steps[0];
      expect(step).toMatchObject({ state: 'failed', host: 'https://ops.example/drain', evidence: answer, attempts: 2 });
    });

    it('gives the sweep only the local process groups of an expired run, never a remote one', async () => {
      const run = await insertRun(ctx.store);
      const fence = await claim(ctx.store, run.id, 'w1', 200);
      await ctx.store.startStep(run.id, fence, { ...STEP, name: 'a', kind: 'run', argv: ['sleep', '9'], host: 'gpu-1' });
      await ctx.store.startStep(run.id, fence, { ...SECOND, name: 'b', kind: 'run', argv: ['sleep', '9'], host: 'gpu-2' });
      expect(await ctx.store.recordProcess(run.id, fence, STEP, { pgid: 4242, startTicks: 777, host: null })).toBe(true);
      expect(await ctx.store.recordProcess(run.id, fence, STEP, { pgid: 99, startTicks: 5, host: 'gpu-1' })).toBe(true);
      expect(await ctx.store.recordProcess(run.id, fence, SECOND, { pgid: 98, startTicks: null, host: 'gpu-2' })).toBe(true);
      await sleep(350);
      expect(await ctx.store.expiredRuns('w1', false)).toEqual([{ runId: run.id, processes: [{ pgid: 4242, startTicks: 777 }] }]);
    });

    it('refuses to record a process under a stale fence', async () => {
      const run = await insertRun(ctx.store);
      const old = await claim(ctx.store, run.id, 'w1');
      await ctx.store.releaseLease(run.id);
      await claim(ctx.store, run.id, 'w2');
      expect(await ctx.store.recordProcess(run.id, old, STEP, { pgid: 1, startTicks: null, host: 'gpu-1' })).toBe(false);
    });
  });
}
