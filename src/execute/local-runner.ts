/** The local CommandRunner: execa spawns each attempt in its own container (cgroup, PID namespace or process group), killed whole on timeout, cancel or exit. */

import { execa } from 'execa';
import type { Logger } from 'pino';
import type { StepResult, StopCause } from '../core/run.js';
import { toError } from '../core/errors.js';
import type { ProcessRecord } from '../history/run-store.js';
import { stopCauseOf, type CommandRequest, type CommandRunner, type CommandSpec } from './command-runner.js';
import { captureOutput } from './output-capture.js';
import { abortableDelay } from './abortable-delay.js';
import { readStartTicks } from './proc-stat.js';
import type { CommandLine, Containment, ContainmentKind, StepContainer } from './containment/containment.js';
import { detectContainment } from './containment/detect-containment.js';

/** How long to wait for the output pipes to close once the container is dead (a process that escaped it may hold them). */
const PIPE_DRAIN_MS = 500;

/** How the runner contains its steps: a containment already detected, or the kinds to try in order (default: strongest first). */
export interface LocalRunnerOptions {
  readonly containment?: Containment | readonly ContainmentKind[];
  /** Hears, once, which containment is in use. */
  readonly logger?: Logger;
}

/** Builds the local runner, detecting the host's containment now (see LocalRunnerOptions). */
export function createLocalRunner(options: LocalRunnerOptions = {}): CommandRunner & { readonly containment: Containment } {
  const given = options.containment;
  const containment = given !== undefined && 'open' in given ? given : detectContainment({ order: given, logger: options.logger });
  return { containment, run: (request) => runLocal(containment, request) };
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

async function runLocal(containment: Containment, request: CommandRequest): Promise<StepResult> {
  const startedAt = Date.now();
  if (request.signal.aborted) return notRunResult(startedAt, null, stopCauseOf(request.signal));
  const line = commandLine(request.command);
  if (line === null) return notRunResult(startedAt, { code: 'SPAWN_FAILED', message: 'run step has no program' });
  let container: StepContainer;
  try {
    container = await containment.open();
  } catch (thrown) {
    // Fail closed: a step that cannot be contained does not run.
    return notRunResult(startedAt, { code: 'SPAWN_FAILED', message: `${containment.kind} containment: ${toError(thrown).message}` });
  }
  const spawned = spawnContained(container, line, request.env);
  if ('error' in spawned) {
    await container.release(0);
    return notRunResult(startedAt, { code: 'SPAWN_FAILED', message: spawned.error });
  }
  if (spawned.subprocess.pid === undefined) {
    const failed = await spawned.subprocess;
    await container.release(0);
    return notRunResult(startedAt, { code: 'SPAWN_FAILED', message: failed.originalMessage ?? failed.shortMessage ?? 'spawn failed' });
  }
  return supervise(spawned.subprocess, spawned.subprocess.pid, container, request, startedAt);
}

type Subprocess = ReturnType<typeof spawnStep>;

function spawnContained(container: StepContainer, line: CommandLine, env: CommandRequest['env']): { subprocess: Subprocess } | { error: string } {
  try {
    const wrapped = container.wrap(line, env);
    return { subprocess: container.spawnInside(() => spawnStep(wrapped, env)) };
  } catch (thrown) {
    return { error: toError(thrown).message };
  }
}

function spawnStep(line: CommandLine, env: CommandRequest['env']) {
  return execa(line.file, line.args, {
    shell: false,
    // Its own session and process group, so TERM reaches the whole group at once.
    detached: true,
    env: { ...env },
    extendEnv: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    // Output is read through captureOutput: execa's maxBuffer would kill a chatty command, ours keeps it running.
    buffer: false,
    encoding: 'buffer',
    reject: false,
    // Timeouts, cancel and the kill on exit are ours: execa kills only the leader, the container kills everything.
    cleanup: false,
    forceKillAfterDelay: false,
  });
}

async function supervise(child: Subprocess, pgid: number, container: StepContainer, request: CommandRequest, startedAt: number): Promise<StepResult> {
  // The result promise never rejects (reject: false); exit and output come from the events below.
  void child.catch(() => undefined);
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
    container.signal(pgid, 'SIGTERM');
    killTimer = setTimeout(() => container.signal(pgid, 'SIGKILL'), request.killGraceMs);
  };
  const timeoutTimer = setTimeout(() => stop('timeout'), request.timeoutMs);
  const onAbort = (): void => stop(stopCauseOf(request.signal));
  request.signal.addEventListener('abort', onAbort, { once: true });
  try {
    // Recorded before any output is read, so a reclaim can find the container even if we die mid-step.
    const record: ProcessRecord = { pgid, startTicks: readStartTicks(pgid), ...(container.cgroup === null ? {} : { cgroup: container.cgroup }) };
    await request.onSpawn?.(record);
  } catch {
    // Recording is the caller's concern (it hears of a lost lease elsewhere); the process stays supervised.
  }
  const stdout = captureOutput(child.stdout, request.maxOutputBytes);
  const stderr = captureOutput(child.stderr, request.maxOutputBytes);
  const [exitCode, signal] = await exited;
  clearTimeout(timeoutTimer);
  clearTimeout(killTimer);
  request.signal.removeEventListener('abort', onAbort);
  // Nothing outlives its step: whatever the leader left in its container goes now.
  await container.release(pgid);
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
