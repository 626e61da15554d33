/** The CommandRunner port: runs one attempt of a `run` or `script` step, locally now, over SSH later. */

import type { StepResult, StopCause } from '../core/run.js';
import type { ProcessRecord } from '../history/run-store.js';
import type { SshSettings } from '../core/runbook.js';

export type CommandSpec =
  /** argv[0] is the program, taken literally; every other element is exactly one argument. */
  | { readonly kind: 'run'; readonly argv: readonly string[] }
  /** bash text, given to bash as it is; alert data only through the environment. */
  | { readonly kind: 'script'; readonly script: string };

export interface CommandRequest {
  readonly command: CommandSpec;
  /** The whole environment of the step (already allow-listed). */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** After TERM, how long before KILL. */
  readonly killGraceMs: number;
  /** Per stream; output past it is dropped and the stream marked truncated. */
  readonly maxOutputBytes: number;
  /** Aborting it stops the command (TERM, then KILL after the grace); its reason is the StopCause. */
  readonly signal: AbortSignal;
  /** Called once the process group exists, before any output is read, so it can be recorded. */
  readonly onSpawn?: (process: ProcessRecord) => void | Promise<void>;
}

/** Runs commands; failures of the command are results, exceptions only for bugs. */
export interface CommandRunner {
  run(request: CommandRequest): Promise<StepResult>;
}

/** The StopCause an AbortSignal was aborted with, or 'canceled' when the reason is not one. */
export function stopCauseOf(signal: AbortSignal): StopCause {
  const r: unknown = signal.reason;
  return r === 'timeout' || r === 'canceled' || r === 'shutdown' || r === 'paused' || r === 'resolved' ? r : 'canceled';
}

/** Picks the runner for a step: local, or SSH to the step's host (settings merged runbook -> tier -> step, config defaults last). */
export type RunnerFor = (ssh: SshSettings<string>) => CommandRunner;
