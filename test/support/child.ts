/** Real child processes for tests: started, watched, and always stopped by their own PID. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toError } from '../../src/core/errors.js';

/** How a child process ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Options for startChild. */
export interface ChildOptions {
  cwd?: string;
  /** The child's whole environment; defaults to this process's environment without NODE_OPTIONS. */
  env?: NodeJS.ProcessEnv;
  /** Also append the child's output to this file. */
  logFile?: string;
  /** A short name for error messages; defaults to the command. */
  name?: string;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  stopGraceMs?: number;
}

/** A running (or ended) child process. */
export interface ChildHandle {
  readonly name: string;
  readonly pid: number;
  readonly command: string;
  /** Settles when the process has exited; never rejects. */
  readonly exited: Promise<ChildExit>;
  /** The exit, or undefined while the process runs. */
  exitStatus(): ChildExit | undefined;
  /** The last part of stdout and stderr, interleaved as they arrived. */
  output(): string;
  /** Sends a signal to the process itself (not its group); a no-op once it has exited. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after the grace period, then SIGKILL to what is left of its process group; waits for exit. */
  stop(graceMs?: number): Promise<ChildExit>;
  /** Name, PID, command, exit and recent output, for error messages. */
  describe(): string;
}

const OUTPUT_LIMIT = 256 * 1024;
const live = new Set<ChildHandle>();
let pidFile: string | undefined;

/** Starts `command` with `args` in its own process group and tracks it until it exits; rejects if it cannot be spawned. */
export async function startChild(command: string, args: readonly string[], options: ChildOptions = {}): Promise<ChildHandle> {
  installWatchdog();
  const child = spawn(command, [...args], {
    cwd: options.cwd,
    env: options.env ?? defaultChildEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group, so stop() can also reap grandchildren by the group id.
    detached: true,
  });
  let output = '';
  const log = options.logFile ? fs.createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  const capture = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_LIMIT) output = output.slice(output.length - OUTPUT_LIMIT);
    // 'exit' may come before the last output: what arrives after the log file was closed stays in `output` only.
    if (log && !log.writableEnded) log.write(chunk);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);

  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (err) => reject(new Error(`could not start ${command}: ${err.message}`, { cause: err })));
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}: no pid`);
  // A forgotten child must not keep jest from exiting; the watchdog kills it once jest has gone.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();

  let status: ChildExit | undefined;
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      live.delete(handle);
      recordLivePids();
      log?.end();
      resolve(status);
    });
  });

  const name = options.name ?? command;
  const commandLine = [command, ...args].join(' ');
  const handle: ChildHandle = {
    name,
    pid,
    command: commandLine,
    exited,
    exitStatus: () => status,
    output: () => output,
    kill: (signal = 'SIGTERM') => {
      if (status === undefined) signalPid(pid, signal);
    },
    stop: (graceMs = options.stopGraceMs ?? 5000) => stopProcess(handle, graceMs),
    describe: () => describeChild(name, pid, commandLine, status, output),
  };
  live.add(handle);
  recordLivePids();
  return handle;
}

/** Stops every child started by startChild that is still running; meant for afterAll. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((child) => child.stop()));
}

/** True when a process with this PID exists (zombies of other parents included). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (thrown) {
    return errnoCode(thrown) === 'EPERM';
  }
}

/** This process's environment without NODE_OPTIONS, which jest sets for itself and children must not inherit. */
export function defaultChildEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

async function stopProcess(handle: ChildHandle, graceMs: number): Promise<ChildExit> {
  if (handle.exitStatus() === undefined) {
    signalPid(handle.pid, 'SIGTERM');
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
    if ((await Promise.race([handle.exited, timer])) === 'timeout') signalPid(handle.pid, 'SIGKILL');
  }
  const exit = await handle.exited;
  // The group id is the child's PID; whatever it left behind in its group goes too.
  signalPid(-handle.pid, 'SIGKILL');
  return exit;
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (thrown) {
    // Read the code off the raw value: under jest's VM realm, Node's errors fail `instanceof Error`.
    if (errnoCode(thrown) !== 'ESRCH') throw toError(thrown);
  }
}

function errnoCode(thrown: unknown): string | undefined {
  return typeof thrown === 'object' && thrown !== null && 'code' in thrown ? String(thrown.code) : undefined;
}

function describeChild(name: string, pid: number, command: string, status: ChildExit | undefined, output: string): string {
  const state = status === undefined ? 'running' : `exited (code ${status.code}, signal ${status.signal})`;
  const tail = output.length > 8000 ? `…${output.slice(-8000)}` : output;
  return `${name} [pid ${pid}] ${state}\n$ ${command}\n--- output ---\n${tail}--- end of output ---`;
}

function installWatchdog(): void {
  if (pidFile !== undefined) return;
  // Jest's sandboxed `process` never sees the worker's 'exit' event, and a worker can be SIGKILLed,
  // so a small detached shell watches this process and kills the recorded process groups when it dies.
  pidFile = path.join(os.tmpdir(), `remediator-children-${process.pid}-${Date.now()}.pids`);
  fs.writeFileSync(pidFile, '');
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done',
    'for pgid in $(cat "$2" 2>/dev/null); do kill -KILL -- "-$pgid" 2>/dev/null; done',
    'rm -f "$2"',
  ].join('\n');
  const watchdog = spawn('bash', ['-c', script, 'remediator-test-watchdog', String(process.pid), pidFile], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
}

function recordLivePids(): void {
  if (pidFile === undefined) return;
  fs.writeFileSync(pidFile, [...live].map((child) => `${child.pid}\n`).join(''));
}
