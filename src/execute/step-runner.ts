/** Runs one planned step: a command through the CommandRunner (with until-retries) or an abortable wait. */

import type { PlannedStep } from '../core/runbook.js';
import type { StepResult, StepState, StopCause } from '../core/run.js';
import type { ProcessRecord } from '../history/run-store.js';
import { stopCauseOf, type CommandRunner, type CommandSpec } from './command-runner.js';
import { abortableDelay } from './abortable-delay.js';
import { notRunResult } from './local-runner.js';

/** What running a step needs besides the step. */
export interface StepRunDeps {
  readonly runner: CommandRunner;
  /** The step's whole environment (see buildStepEnv). */
  readonly env: Readonly<Record<string, string>>;
  readonly killGraceMs: number;
  readonly maxOutputBytes: number;
}

/** Per-call options of runStep. */
export interface StepRunOptions {
  /** Aborting it stops the step at once; its reason is the StopCause recorded. */
  readonly signal: AbortSignal;
  /** Called for each process group the step starts, before its output is read. */
  readonly onSpawn?: (process: ProcessRecord) => void | Promise<void>;
  /** For a resumed `wait`: the time still to wait instead of the whole duration. */
  readonly remainingWaitMs?: number;
}

/** The outcome of a step after all its attempts. */
export interface StepOutcome {
  readonly result: StepResult;
  readonly attempts: number;
  readonly state: StepState;
}

/** Runs a step to its outcome; failures are results, never exceptions. */
export async function runStep(step: PlannedStep, deps: StepRunDeps, options: StepRunOptions): Promise<StepOutcome> {
  if (step.kind === 'wait') {
    const result = await runWait(options.remainingWaitMs ?? step.waitMs ?? 0, options.signal);
    return { result, attempts: 1, state: stepStateOf(result) };
  }
  const command = commandOf(step);
  if (command === null) {
    const result = notRunResult(Date.now(), { code: 'SPAWN_FAILED', message: `step ${step.name} has nothing to run` });
    return { result, attempts: 0, state: 'failed' };
  }
  return runWithUntil(step, command, deps, options);
}

/** The step state a final result stands for. */
export function stepStateOf(result: StepResult): StepState {
  if (result.ok) return 'succeeded';
  const cause: StopCause | null = result.stoppedBy;
  if (cause === 'canceled' || cause === 'resolved' || cause === 'paused') return 'canceled';
  if (cause === 'shutdown') return 'interrupted';
  return 'failed';
}

function commandOf(step: PlannedStep): CommandSpec | null {
  if (step.kind === 'run' && step.argv !== undefined && step.argv.length > 0) return { kind: 'run', argv: step.argv };
  if (step.kind === 'script' && typeof step.script === 'string') return { kind: 'script', script: step.script };
  return null;
}

async function runWait(ms: number, signal: AbortSignal): Promise<StepResult> {
  const startedAt = Date.now();
  const completed = await abortableDelay(ms, signal);
  if (!completed) return notRunResult(startedAt, null, stopCauseOf(signal));
  return { ...notRunResult(startedAt, null), ok: true };
}

async function runWithUntil(step: PlannedStep, command: CommandSpec, deps: StepRunDeps, options: StepRunOptions): Promise<StepOutcome> {
  const until = step.until;
  const deadline = until === null ? Number.POSITIVE_INFINITY : Date.now() + until.withinMs;
  let attempts = 0;
  for (;;) {
    const attemptStart = Date.now();
    // `within` bounds the whole, so no attempt may run past it.
    const timeoutMs = Math.max(1, Math.min(step.timeoutMs, deadline - attemptStart));
    attempts += 1;
    const result = await deps.runner.run({
      command,
      env: deps.env,
      timeoutMs,
      killGraceMs: deps.killGraceMs,
      maxOutputBytes: deps.maxOutputBytes,
      signal: options.signal,
      onSpawn: options.onSpawn,
    });
    const outcome = { result, attempts, state: stepStateOf(result) };
    if (until === null || result.ok || result.error !== null || isExternalStop(result)) return outcome;
    const nextStart = attemptStart + until.everyMs;
    if (nextStart >= deadline) return outcome;
    if (!(await abortableDelay(nextStart - Date.now(), options.signal))) {
      const stopped: StepResult = { ...result, ok: false, stoppedBy: stopCauseOf(options.signal), endedAt: Date.now() };
      return { result: stopped, attempts, state: stepStateOf(stopped) };
    }
  }
}

function isExternalStop(result: StepResult): boolean {
  return result.stoppedBy !== null && result.stoppedBy !== 'timeout';
}
