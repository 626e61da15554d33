/** One attempt of a command on an open SSH connection: bounded output, remote group killed on timeout or cancel. */

import { randomBytes } from 'node:crypto';
import type { NodeSSH } from 'node-ssh';
import type { StepResult, StopCause } from '../../core/run.js';
import { stopCauseOf, type CommandRequest } from '../command-runner.js';
import { captureOutput, type CapturedOutput } from '../output-capture.js';
import { abortableDelay } from '../abortable-delay.js';
import { notRunResult } from '../local-runner.js';
import { stripPgidMarker, type RemoteGroup } from './pgid-marker.js';
import { killGroupCommand, remoteInvocation } from './remote-command-line.js';
import { openExec, runSideCommand } from './side-command.js';
import type { SshChannel, SshConnection } from './ssh-connect.js';

/** The remote shell gets the command as one `-c` argument, which Linux caps at 128 KiB (MAX_ARG_STRLEN). */
const MAX_COMMAND_BYTES = 120_000;
/** How long past timeout + grace the remote `timeout` may take before we stop it from here. */
const BACKSTOP_MS = 3000;
const PIPE_DRAIN_MS = 500;

/** The channel could not be opened: the caller may retry on a fresh connection. */
export interface OpenFailed {
  readonly openFailed: Error;
}

/** Waits for the promise, at most ms; the timer goes as soon as either ends, so it never holds the process open. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  const done = new AbortController();
  await Promise.race([promise, abortableDelay(ms, done.signal)]);
  done.abort();
}

/** Where to run: the connection (node-ssh's, and the ssh2 Client it holds), its name (user@host:port) for records, and how long a session may take to open. */
export interface RemoteTarget {
  readonly ssh: NodeSSH;
  readonly connection: SshConnection;
  readonly host: string;
  readonly openTimeoutMs: number;
}

/** Runs request.command on the target; a channel that cannot open is reported apart, so the caller may retry. */
export async function execRemote(target: RemoteTarget, request: CommandRequest, startedAt: number): Promise<StepResult | OpenFailed> {
  const { host } = target;
  const nonce = randomBytes(8).toString('hex');
  const invocation = remoteInvocation(request.command, request.env, request.timeoutMs, request.killGraceMs, nonce);
  if (Buffer.byteLength(invocation.command) > MAX_COMMAND_BYTES) {
    return notRunResult(startedAt, { code: 'SSH_COMMAND_TOO_LONG', message: `the remote command is over ${MAX_COMMAND_BYTES} bytes` });
  }
  const channel = await openExec(target.connection, invocation.command, target.openTimeoutMs);
  if (channel instanceof Error) return { openFailed: channel };
  return supervise(target.ssh, channel, { host, nonce, stdin: invocation.stdin, request, startedAt });
}

interface Supervision {
  readonly host: string;
  readonly nonce: string;
  readonly stdin: string | null;
  readonly request: CommandRequest;
  readonly startedAt: number;
}

interface ExitStatus {
  readonly code: number | null;
  readonly signal: string | null;
}

async function supervise(ssh: NodeSSH, channel: SshChannel, s: Supervision): Promise<StepResult> {
  const { request } = s;
  channel.on('error', () => undefined);
  let exit: ExitStatus | null = null;
  let group: RemoteGroup | null = null;
  let stoppedBy: StopCause | null = null;
  let killing = false;
  let recorded: Promise<void> = Promise.resolve();
  const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
  const ended = new Promise<void>((resolve) => {
    channel.once('exit', (code: number | null, signal?: string) => {
      exit = { code, signal: signal === undefined ? null : `SIG${signal}` };
      resolve();
    });
    void closed.then(resolve);
  });
  const killGroup = (): void => {
    if (killing || group === null) return;
    killing = true;
    const text = killGroupCommand(group.pgid, request.killGraceMs, s.nonce, group.containment);
    void runSideCommand(ssh, text, request.killGraceMs + BACKSTOP_MS);
  };
  let hardStop: NodeJS.Timeout | undefined;
  const stop = (cause: StopCause): void => {
    // A command that already finished on its own keeps its own outcome.
    if (stoppedBy !== null || exit !== null) return;
    stoppedBy = cause;
    killGroup();
    // Without a known group (or a kill that cannot reach the host), closing the channel is all that is left.
    hardStop = setTimeout(() => channel.close(), request.killGraceMs + BACKSTOP_MS);
  };
  const onGroup = (reported: RemoteGroup): void => {
    group = reported;
    recorded = Promise.resolve()
      .then(() => request.onSpawn?.({ host: s.host, pgid: reported.pgid, startTicks: null }))
      .catch(() => undefined);
    if (stoppedBy !== null) killGroup();
  };
  const stdout = captureOutput(channel, request.maxOutputBytes);
  const stderr = captureOutput(stripPgidMarker(channel.stderr, s.nonce, onGroup), request.maxOutputBytes);
  channel.end(s.stdin ?? undefined);
  const backstop = setTimeout(() => stop('timeout'), request.timeoutMs + request.killGraceMs + BACKSTOP_MS);
  const onAbort = (): void => stop(stopCauseOf(request.signal));
  request.signal.addEventListener('abort', onAbort, { once: true });
  if (request.signal.aborted) onAbort();

  await ended;
  clearTimeout(backstop);
  request.signal.removeEventListener('abort', onAbort);
  await finishChannel(channel, closed, [stdout, stderr]);
  clearTimeout(hardStop);
  await recorded;
  return resultOf(s, exit, stoppedBy, stdout, stderr);
}

/** The remote shell has already killed what the step left; the pipes get a moment to drain. */
async function finishChannel(channel: SshChannel, closed: Promise<void>, outputs: readonly CapturedOutput[]): Promise<void> {
  await within(closed, PIPE_DRAIN_MS);
  channel.close();
  await within(Promise.all(outputs.map((o) => o.done)), PIPE_DRAIN_MS);
}

function resultOf(s: Supervision, exit: ExitStatus | null, stopped: StopCause | null, stdout: CapturedOutput, stderr: CapturedOutput): StepResult {
  const endedAt = Date.now();
  const exitCode = exit?.code ?? null;
  const signal = exit?.signal ?? null;
  // GNU timeout answers 124 when TERM worked; after the grace it KILLs its group and itself, which the shell reports as 137.
  const remoteTimeout = stopped === null && endedAt - s.startedAt >= s.request.timeoutMs && (exitCode === 124 || exitCode === 137);
  const stoppedBy: StopCause | null = remoteTimeout ? 'timeout' : stopped;
  const lost = exit === null && stoppedBy === null;
  return {
    ok: exitCode === 0 && stoppedBy === null,
    exitCode,
    signal,
    timedOut: stoppedBy === 'timeout',
    stoppedBy,
    stdout: stdout.text(),
    stderr: stderr.text(),
    stdoutTruncated: stdout.truncated(),
    stderrTruncated: stderr.truncated(),
    startedAt: s.startedAt,
    endedAt,
    error: lost ? { code: 'SSH_ERROR', message: `the connection to ${s.host} closed before the command reported its exit` } : null,
    host: s.host,
  };
}
