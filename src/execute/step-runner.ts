/** Runs one planned step: a command through the CommandRunner (with until-retries) or an abortable wait. */

import type { PlannedStep } from '../core/runbook.js';
import type { StepResult, StepState, StopCause } from '../core/run.js';
import type { ProcessRecord } from '../history/run-store.js';
import type { PrometheusClient } from '../verify/prometheus-client.js';
import { stopCauseOf, type CommandRunner, type CommandSpec, type RunnerFor } from './command-runner.js';
import { abortableDelay } from './abortable-delay.js';
import { runCaptureGpu } from './capture/capture-gpu.js';
import { runHttpStep } from './http/http-step.js';
import { notRunResult } from './local-runner.js';
import { runPromqlStep } from './promql/promql-step.js';
import type { Scrubber } from './scrub.js';

/** What running a step needs besides the step. */
export interface StepRunDeps {
  /** The local runner: run, script and capture steps without ssh. */
  readonly runner: CommandRunner;
  /** The SSH runner for a step's settings; without it an ssh step fails. */
  readonly runnerFor?: RunnerFor;
  /** Where http steps may go (config http.allowHosts); empty or absent: nowhere. */
  readonly httpAllowHosts?: readonly string[];
  /** For promql steps; null or absent when no Prometheus is configured. */
  readonly prometheus?: PrometheusClient | null;
  /** The step's whole environment (see buildStepEnv). */
  readonly env: Readonly<Record<string, string>>;
  readonly killGraceMs: number;
  readonly maxOutputBytes: number;
  /** The replica's scrubber: every header file an http step reads is added to it, so no later output shows it. */
  readonly scrub?: Scrubber;
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
  const attempt = attemptOf(step, deps, options);
  if (attempt === null) {
    const result = notRunResult(Date.now(), { code: 'SPAWN_FAILED', message: `step ${step.name} has nothing to run` });
    return { result, attempts: 0, state: 'failed' };
  }
  return runWithUntil(step, attempt, options);
}

/** One attempt of a step, given the time it may take. */
type Attempt = (timeoutMs: number) => Promise<StepResult>;

function runnerOf(step: PlannedStep, deps: StepRunDeps): CommandRunner | null {
  if (step.ssh === undefined || step.ssh === null) return deps.runner;
  return deps.runnerFor === undefined ? null : deps.runnerFor(step.ssh);
}

/** How one attempt of the step runs, by kind; null when the step has nothing to run. */
function attemptOf(step: PlannedStep, deps: StepRunDeps, options: StepRunOptions): Attempt | null {
  const common = { maxOutputBytes: deps.maxOutputBytes, signal: options.signal };
  if (step.kind === 'http' && step.http !== undefined) {
    const request = step.http;
    const onSecrets = (secrets: readonly string[]): void => deps.scrub?.add(secrets);
    return (timeoutMs) => runHttpStep(request, { ...common, allowHosts: deps.httpAllowHosts ?? [], timeoutMs, onSecrets });
  }
  if (step.kind === 'promql' && step.promql !== undefined) {
    const query = step.promql;
    return (timeoutMs) => runPromqlStep(query, { ...common, client: deps.prometheus ?? null, timeoutMs });
  }
  const runner = runnerOf(step, deps);
  if (runner === null) {
    const message = `step ${step.name} runs over ssh, but no SSH runner is configured`;
    return async () => notRunResult(Date.now(), { code: 'SSH_NOT_CONFIGURED', message });
  }
  const process = { env: deps.env, killGraceMs: deps.killGraceMs, onSpawn: options.onSpawn };
  if (step.kind === 'capture') return (timeoutMs) => runCaptureGpu({ ...common, ...process, runner, timeoutMs });
  const command = commandOf(step);
  if (command === null) return null;
  return (timeoutMs) => runner.run({ ...common, ...process, command, timeoutMs });
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

async function runWithUntil(step: PlannedStep, attempt: Attempt, options: StepRunOptions): Promise<StepOutcome> {
  const until = step.until;
  const deadline = until === null ? Number.POSITIVE_INFINITY : Date.now() + until.withinMs;
  let attempts = 0;
  for (;;) {
    const attemptStart = Date.now();
    // `within` bounds the whole, so no attempt may run past it.
    const timeoutMs = Math.max(1, Math.min(step.timeoutMs, deadline - attemptStart));
    attempts += 1;
    const result = await attempt(timeoutMs);
    const outcome = { result, attempts, state: stepStateOf(result) };
    if (until === null || result.ok || isPermanent(result) || isExternalStop(result)) return outcome;
    const nextStart = attemptStart + until.everyMs;
    if (nextStart >= deadline) return outcome;
    if (!(await abortableDelay(nextStart - Date.now(), options.signal))) {
      const stopped: StepResult = { ...result, ok: false, stoppedBy: stopCauseOf(options.signal), endedAt: Date.now() };
      return { result: stopped, attempts, state: stepStateOf(stopped) };
    }
  }
}

/** Errors that no retry can mend (a refused host, a missing program); network errors are worth the next `until` attempt. */
const PERMANENT_ERRORS = new Set([
  'SPAWN_FAILED',
  'SSH_NOT_CONFIGURED',
  'SSH_HOST_KEY_MISMATCH',
  'SSH_HOST_UNKNOWN',
  'SSH_HOST_NOT_ALLOWED',
  'HTTP_HOST_NOT_ALLOWED',
  'HTTP_BAD_URL',
  'PROMETHEUS_NOT_CONFIGURED',
  'NVIDIA_SMI_MISSING',
]);

function isPermanent(result: StepResult): boolean {
  return result.error !== null && PERMANENT_ERRORS.has(result.error.code);
}

function isExternalStop(result: StepResult): boolean {
  return result.stoppedBy !== null && result.stoppedBy !== 'timeout';
}
