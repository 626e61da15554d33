import { describe, it, expect } from '@jest/globals';
import type { StepResult } from '../core/run.js';
import type { PlannedStep } from '../core/runbook.js';
import type { CommandRequest, CommandRunner } from './command-runner.js';
import { runStep, stepStateOf } from './step-runner.js';

function result(ok: boolean, over: Partial<StepResult> = {}): StepResult {
  const now = Date.now();
  return {
    ok, exitCode: ok ? 0 : 1, signal: null, timedOut: false, stoppedBy: null, stdout: '', stderr: '',
    stdoutTruncated: false, stderrTruncated: false, startedAt: now, endedAt: now, error: null, ...over,
  };
}

/** A runner that answers from a list and remembers each request. */
function scriptedRunner(answers: boolean[]): CommandRunner & { requests: CommandRequest[] } {
  const requests: CommandRequest[] = [];
  return {
    requests,
    async run(request) {
      requests.push(request);
      return result(answers[requests.length - 1] ?? false);
    },
  };
}

function step(over: Partial<PlannedStep> = {}): PlannedStep {
  return { name: 's', kind: 'run', argv: ['true'], timeoutMs: 5000, until: null, continueOnError: false, idempotent: false, ...over };
}

const deps = (runner: CommandRunner) => ({ runner, env: {}, killGraceMs: 100, maxOutputBytes: 1024 });
const live = () => new AbortController().signal;

describe('runStep', () => {
  it('runs a step without until exactly once, even when it fails', async () => {
    const runner = scriptedRunner([false, true]);
    const outcome = await runStep(step(), deps(runner), { signal: live() });
    expect(outcome).toMatchObject({ attempts: 1, state: 'failed' });
  });

  it('repeats a failing attempt every everyMs until it succeeds', async () => {
    const runner = scriptedRunner([false, false, true]);
    const started = Date.now();
    const outcome = await runStep(step({ until: { everyMs: 50, withinMs: 5000 } }), deps(runner), { signal: live() });
    expect(outcome).toMatchObject({ attempts: 3, state: 'succeeded' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
  });

  it('stops at the within deadline and never sleeps past it', async () => {
    const runner = scriptedRunner([]);
    const started = Date.now();
    const outcome = await runStep(step({ until: { everyMs: 2_000, withinMs: 300 } }), deps(runner), { signal: live() });
    expect(outcome.attempts).toBe(1);
    expect(outcome.state).toBe('failed');
    // The next attempt would start at 2 s, past the 300 ms deadline: it stops at the deadline instead.
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('gives no attempt a timeout past the within deadline', async () => {
    const runner = scriptedRunner([]);
    await runStep(step({ timeoutMs: 60_000, until: { everyMs: 100, withinMs: 250 } }), deps(runner), { signal: live() });
    expect(runner.requests[0]?.timeoutMs).toBeLessThanOrEqual(250);
  });

  it('stops retrying when aborted between attempts, recording the cause', async () => {
    const runner = scriptedRunner([]);
    const abort = new AbortController();
    setTimeout(() => abort.abort('resolved'), 30);
    const outcome = await runStep(step({ until: { everyMs: 1000, withinMs: 10_000 } }), deps(runner), { signal: abort.signal });
    expect(outcome).toMatchObject({ attempts: 1, state: 'canceled' });
    expect(outcome.result.stoppedBy).toBe('resolved');
  });

  it('waits for a wait step, or only the remaining time of a resumed one', async () => {
    const started = Date.now();
    const full = await runStep(step({ kind: 'wait', argv: undefined, waitMs: 120 }), deps(scriptedRunner([])), { signal: live() });
    expect(full.state).toBe('succeeded');
    expect(Date.now() - started).toBeGreaterThanOrEqual(115);
    const resumedAt = Date.now();
    const resumed = await runStep(step({ kind: 'wait', waitMs: 60_000 }), deps(scriptedRunner([])), { signal: live(), remainingWaitMs: 20 });
    expect(resumed.state).toBe('succeeded');
    expect(Date.now() - resumedAt).toBeLessThan(1000);
  });

  it('ends a wait at once when aborted', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort('canceled'), 20);
    const outcome = await runStep(step({ kind: 'wait', waitMs: 60_000 }), deps(scriptedRunner([])), { signal: abort.signal });
    expect(outcome).toMatchObject({ state: 'canceled', result: { ok: false, stoppedBy: 'canceled' } });
  });

  it.each([
    [result(true), 'succeeded'],
    [result(false), 'failed'],
    [result(false, { stoppedBy: 'timeout', timedOut: true }), 'failed'],
    [result(false, { stoppedBy: 'canceled' }), 'canceled'],
    [result(false, { stoppedBy: 'paused' }), 'canceled'],
    [result(false, { stoppedBy: 'resolved' }), 'canceled'],
    [result(false, { stoppedBy: 'shutdown' }), 'interrupted'],
  ])('maps a result to its step state (%#)', (r, state) => {
    expect(stepStateOf(r)).toBe(state);
  });
});
