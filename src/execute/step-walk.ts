/** One step of a walk: the resume rules, the run itself, and its records. */

import type { RunReason, StepResult } from '../core/run.js';
import type { PlannedStep } from '../core/runbook.js';
import type { ProcessRecord, StepKey } from '../history/run-store.js';
import { toError } from '../core/errors.js';
import { notRunResult } from './local-runner.js';
import { readPlanSecrets } from './plan-secrets.js';
import { runStep, type StepOutcome } from './step-runner.js';
import { endWith, endingOf, recordedSteps, type Ending, type Walk } from './run-walk.js';

/** A step that succeeded, failed (the phase decides what that means), or an ending for the run. */
export type StepVerdict = 'ok' | 'failed' | Ending;

const LOST: Ending = { kind: 'leave', why: 'lost' };

/** Walks one step: skips it when it already finished, applies the resume rules to one left running, else runs it. */
export async function walkStep(w: Walk, key: StepKey, step: PlannedStep): Promise<StepVerdict> {
  const recorded = recordedSteps(w.run, key.tierIndex, key.phase)[key.stepIndex];
  switch (recorded?.state) {
    case 'succeeded':
    case 'skipped':
      return 'ok';
    case 'failed':
      return 'failed';
    case 'canceled':
      return endWith('canceled', (w.run.cancelRequested as RunReason | null) ?? 'canceled');
    case 'interrupted':
      return endWith('interrupted', 'interrupted');
  }
  const stop = await w.control.checkpoint();
  if (stop !== null) return endingOf(stop);
  let remainingWaitMs: number | undefined;
  if (recorded?.state === 'running' && step.kind === 'wait') {
    // A wait resumes where it was: only the time left of it.
    const startedAt = recorded.startedAt === null ? Number.NaN : Date.parse(recorded.startedAt);
    const elapsed = Number.isNaN(startedAt) ? 0 : (await w.store.now()) - startedAt;
    remainingWaitMs = Math.max(0, (step.waitMs ?? 0) - elapsed);
  } else if (recorded?.state === 'running' && !step.idempotent) {
    return interrupt(w, key, recorded.attempts);
  } else if (!(await w.store.startStep(w.runId, w.fence, { ...key, name: step.name, kind: step.kind, argv: step.argv ?? null, host: hostOf(step) }))) {
    return LOST;
  }
  w.control.stepStarted(step.kind);
  const outcome = await runStep(step, w, { signal: w.control.signal, onSpawn: (p) => onSpawn(w, key, p), remainingWaitMs });
  w.control.stepEnded();
  return record(w, key, step, outcome);
}

/** Where a step acts, for the record: its SSH host or its URL; null for a local step. */
function hostOf(step: PlannedStep): string | null {
  if (step.kind === 'http') return step.http?.url ?? null;
  if (step.ssh !== undefined && step.ssh !== null && step.kind !== 'promql' && step.kind !== 'wait') return step.ssh.host;
  return null;
}

/** A step that was running when its worker went away, and that may not run twice: the run stops there. */
async function interrupt(w: Walk, key: StepKey, attempts: number): Promise<StepVerdict> {
  w.logger.warn({ tierIndex: key.tierIndex, phase: key.phase, stepIndex: key.stepIndex }, 'step was running at reclaim and is not idempotent');
  const result = notRunResult(Date.now(), {
    code: 'INTERRUPTED',
    message: 'the step was running when its worker stopped; it is not idempotent, so it is not run again',
  });
  if (!(await w.store.finishStep(w.runId, w.fence, key, 'interrupted', result, attempts))) return LOST;
  return endWith('interrupted', 'interrupted');
}

async function onSpawn(w: Walk, key: StepKey, process: ProcessRecord): Promise<void> {
  try {
    const recorded = await w.store.recordProcess(w.runId, w.fence, key, process);
    if (recorded) await w.store.markExecuted(w.runId, w.fence);
    else w.control.lose();
  } catch (thrown) {
    // Without the record a reclaim could not kill this group, so the step must not go on.
    w.logger.error({ err: toError(thrown) }, 'cannot record the process group of a step');
    w.control.lose();
  }
}

async function record(w: Walk, key: StepKey, step: PlannedStep, outcome: StepOutcome): Promise<StepVerdict> {
  const interruption = w.control.interruption();
  if (interruption?.kind === 'lost') return LOST;
  // Killed by the shutdown: the step stays `running`, and the resume rules decide at the reclaim.
  if (outcome.result.stoppedBy === 'shutdown') return { kind: 'leave', why: 'shutdown' };
  const result = await scrubbed(w, outcome.result);
  if (!(await w.store.finishStep(w.runId, w.fence, key, outcome.state, result, outcome.attempts))) return LOST;
  const seconds = (result.endedAt - result.startedAt) / 1000;
  w.onStepEnd?.(step.kind, outcome.state, seconds);
  w.logger.info({ step: step.name, state: outcome.state, attempts: outcome.attempts, exitCode: result.exitCode, seconds }, 'step ended');
  if (outcome.state === 'succeeded') return 'ok';
  if (outcome.state === 'canceled') return interruption?.kind === 'cancel' ? endWith('canceled', interruption.reason) : endWith('canceled', 'canceled');
  return 'failed';
}

// Read once per walk: a step may print a header file before the http step that sends it has run.
const planSecretsRead = new WeakMap<Walk, Promise<void>>();

/** Output scrubbed of every secret read so far and of the plan's header files, whole or cut at the output cap. */
async function scrubbed(w: Walk, result: StepResult): Promise<StepResult> {
  let read = planSecretsRead.get(w);
  if (read === undefined) {
    read = readPlanSecrets(w.run.plan).then((secrets) => w.scrub.add(secrets));
    planSecretsRead.set(w, read);
  }
  await read;
  return { ...result, stdout: w.scrub(result.stdout, result.stdoutTruncated), stderr: w.scrub(result.stderr, result.stderrTruncated) };
}
