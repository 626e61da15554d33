/** The local CommandRunner: one process group per attempt, killed whole on timeout, cancel or exit. */

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { StepResult, StopCause } from '../core/run.js';
import { toError } from '../core/errors.js';
import { stopCauseOf, type CommandRequest, type CommandRunner, type CommandSpec } from './command-runner.js';
import { captureOutput } from './output-capture.js';
import { abortableDelay } from './abortable-delay.js';
import { readStartTicks, signalGroup } from './proc-stat.js';

/** How long to wait for the output pipes to close once the group is dead (a process that left the group may hold them). */
const PIPE_DRAIN_MS = 500;

/** Builds the local runner; it spawns with node:child_process, which gives direct control of the group, the pipes and the exit. */
export function createLocalRunner(): CommandRunner {
  return { run: runLocal };
}

/** The program and arguments that carry out a command, never through a shell of ours. */
export function commandLine(command: CommandSpec): { file: string; args: string[] } | null {
  if (command.kind === 'script') return { file: 'bash', args: ['--noprofile', '--norc', '-c', command.script, 'remediator-step'] };
  const [file, ...args] = command.argv;
  return file === undefined || file === '' ? null : { file, args };
}

/** A result for a command that never ran. */
export function notRunResult(startedAt: number, error: StepResult['error'], stoppedBy: StopCause | null = null): StepResult {
  return {
    ok: false,
    exitCode: null,
    signal: null,
    timedOut: false,
    stoppedBy,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    startedAt,
    endedAt: Date.now(),
    error,
  };
}

async function runLocal(request: CommandRequest): Promise<StepResult> {
  const startedAt = Date.now();
  if (request.signal.aborted) return notRunResult(startedAt, null, stopCauseOf(request.signal));
  const line = commandLine(request.command);
  if (line === null) return notRunResult(startedAt, { code: 'SPAWN_FAILED', message: 'run step has no program' });
  let child: ChildProcess;
  try {
    child = spawn(line.file, line.args, {
      shell: false,
      detached: true,
      env: { ...request.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (thrown) {
    return notRunResult(startedAt, { code: 'SPAWN_FAILED', message: toError(thrown).message });
  }
  if (child.pid === undefined) {
    const [err] = (await once(child, 'error')) as [Error];
    return notRunResult(startedAt, { code: 'SPAWN_FAILED', message: err.message });
  }
  return supervise(child, child.pid, request, startedAt);
}

async function supervise(child: ChildProcess, pgid: number, request: CommandRequest, startedAt: number): Promise<StepResult> {
  // Errors after a successful spawn (a failed kill) must not crash the process; the exit still comes.
  child.on('error', () => undefined);
  let leaderExited = false;
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      leaderExited = true;
      resolve([code, signal]);
    }),
  );
  let stoppedBy: StopCause | null = null;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (cause: StopCause): void => {
    // A command that already finished on its own keeps its own outcome.
    if (stoppedBy !== null || leaderExited) return;
    stoppedBy = cause;
    signalGroup(pgid, 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), request.killGraceMs);
  };
  const timeoutTimer = setTimeout(() => stop('timeout'), request.timeoutMs);
  const onAbort = (): void => stop(stopCauseOf(request.signal));
  request.signal.addEventListener('abort', onAbort, { once: true });
  try {
    // Recorded before any output is read, so a reclaim can find the group even if we die mid-step.
    await request.onSpawn?.({ pgid, startTicks: readStartTicks(pgid) });
  } catch {
    // Recording is the caller's concern (it hears of a lost lease elsewhere); the process stays supervised.
  }
  const stdout = captureOutput(child.stdout, request.maxOutputBytes);
  const stderr = captureOutput(child.stderr, request.maxOutputBytes);
  const [exitCode, signal] = await exited;
  clearTimeout(timeoutTimer);
  clearTimeout(killTimer);
  request.signal.removeEventListener('abort', onAbort);
  // Nothing outlives its step: whatever the leader left in its group goes now.
  signalGroup(pgid, 'SIGKILL');
  const drained = new AbortController();
  await Promise.race([Promise.all([stdout.done, stderr.done]), abortableDelay(PIPE_DRAIN_MS, drained.signal)]);
  drained.abort();
  child.stdout?.destroy();
  child.stderr?.destroy();
  const cause: StopCause | null = stoppedBy;
  return {
    ok: exitCode === 0 && cause === null,
    exitCode,
    signal,
    timedOut: cause === 'timeout',
    stoppedBy: cause,
    stdout: stdout.text(),
    stderr: stderr.text(),
    stdoutTruncated: stdout.truncated(),
    stderrTruncated: stderr.truncated(),
    startedAt,
    endedAt: Date.now(),
    error: null,
  };
}
