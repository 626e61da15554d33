/** One vllm@MODEL unit on a host: systemd's start/stop/restart semantics over a real engine process. */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import type { ActiveState, EngineFlags, EngineHeartbeat, UnitActionResult, UnitView } from './api-types.js';
import { envChanges, readEnvFile, type EnvMap } from './env-file.js';
import type { EventLog } from './events.js';
import type { HostConfig, ModelConfig } from './fleet-config.js';
import type { Journal } from './journal.js';
import { engineArgs, flagsFromEnv } from './unit-launch.js';

/** What a unit needs from the supervisor. */
export interface UnitDeps {
  readonly host: HostConfig;
  readonly model: ModelConfig;
  readonly envFile: string;
  readonly journal: Journal;
  readonly events: EventLog;
  readonly enginePath: string;
  readonly controlUrl: string;
  readonly stopTimeoutMs: number;
}

const SIGNALS = os.constants.signals as Record<string, number>;

function statusText(code: 'exited' | 'killed', status: number, signal: string | null): string {
  if (code === 'killed') return `${status}/${(signal ?? '').replace(/^SIG/, '')}`;
  return `${status}/${({ 0: 'SUCCESS', 1: 'FAILURE', 2: 'INVALIDARGUMENT' } as Record<number, string>)[status] ?? status}`;
}

/** The unit; actions are queued so a start never races a stop. */
export class Unit {
  readonly name: string;
  private activeState: ActiveState = 'inactive';
  private subState: UnitView['subState'] = 'dead';
  private result: UnitView['result'] = 'success';
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private stopping: { timedOut: boolean } | null = null;
  private flags: EngineFlags | null = null;
  private lastEnv: EnvMap | null = null;
  private execMain: UnitView['execMain'] = null;
  private readonly stamps = { startedAt: null as string | null, activeEnter: null as string | null, activeExit: null as string | null, inactiveEnter: null as string | null, execMainExit: null as string | null };
  private starts = 0;
  private queue: Promise<unknown> = Promise.resolve();
  /** The engine's last heartbeat, while it runs. */
  report: EngineHeartbeat | null = null;

  constructor(private readonly deps: UnitDeps) {
    this.name = `vllm@${deps.model.name}`;
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  /** The flags of the running engine, or null. */
  get runningFlags(): EngineFlags | null {
    return this.proc ? this.flags : null;
  }

  /** systemctl start: reads the env file, spawns the engine, resolves once it runs (Type=exec). */
  start(): Promise<UnitActionResult> {
    return this.enqueue(() => this.doStart());
  }

  /** systemctl stop: SIGTERM, SIGKILL after the stop timeout, waits for the exit. */
  stop(): Promise<UnitActionResult> {
    return this.enqueue(() => this.doStop());
  }

  /** systemctl restart: stop, then start. */
  restart(): Promise<UnitActionResult> {
    return this.enqueue(async () => {
      await this.doStop();
      return this.doStart();
    });
  }

  /** Keeps the engine's report when it comes from the current process. */
  heartbeat(hb: EngineHeartbeat): boolean {
    if (hb.pid !== this.pid || this.proc === null) return false;
    if (hb.phase === 'ready' && this.report?.phase !== 'ready') {
      this.deps.events.add('unit-ready', this.deps.host.name, { pid: hb.pid, loadMs: Date.now() - Date.parse(this.stamps.startedAt ?? '') }, this.name);
    }
    this.report = hb;
    return true;
  }

  /** The unit as GET /state and systemctl show it. */
  view(): UnitView {
    const s = this.stamps;
    return {
      host: this.deps.host.name,
      unit: this.name,
      model: this.deps.model.name,
      state: this.activeState,
      activeState: this.activeState,
      subState: this.subState,
      result: this.result,
      mainPid: this.pid,
      pid: this.pid,
      version: this.flags?.version ?? null,
      execMain: this.execMain,
      flags: this.flags,
      phase: this.proc ? (this.report?.phase ?? 'loading') : null,
      memoryMiB: this.proc ? (this.report?.memoryMiB ?? 0) : 0,
      envFile: this.deps.envFile,
      startedAt: s.startedAt,
      activeEnterTimestamp: s.activeEnter,
      activeExitTimestamp: s.activeExit,
      inactiveEnterTimestamp: s.inactiveEnter,
      execMainExitTimestamp: s.execMainExit,
      starts: this.starts,
    };
  }

  private enqueue(action: () => Promise<UnitActionResult>): Promise<UnitActionResult> {
    const next = this.queue.then(action, action);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private answer(ok: boolean, error?: string): UnitActionResult {
    return { ok, state: this.activeState, pid: this.pid, ...(error === undefined ? {} : { error }) };
  }

  private systemd(message: string): void {
    this.deps.journal.add('systemd', 1, message);
  }

  private async doStart(): Promise<UnitActionResult> {
    if (this.proc) return this.answer(true);
    this.starts++;
    const { host, model, envFile } = this.deps;
    const env = readEnvFile(envFile);
    if (env === null) {
      this.systemd(`${this.name}.service: Failed to load environment files: No such file or directory`);
      this.systemd(`${this.name}.service: Failed to run 'start' task: No such file or directory`);
      this.systemd(`${this.name}.service: Failed with result 'resources'.`);
      this.setState('failed', 'failed', 'resources');
      return this.answer(false, `Job for ${this.name}.service failed because of unavailable resources or another system error.`);
    }
    if (this.lastEnv !== null) {
      const changes = envChanges(this.lastEnv, env);
      if (Object.keys(changes).length > 0) this.deps.events.add('env-changed', host.name, { file: envFile, changes }, this.name);
    }
    this.lastEnv = env;
    const flags = flagsFromEnv(env, model, host);
    this.flags = flags;
    const args = engineArgs(this.deps.enginePath, flags, model, host, this.deps.controlUrl);
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete childEnv.NODE_OPTIONS;
    const proc = spawn(process.execPath, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      proc.once('spawn', resolve);
      proc.once('error', reject);
    });
    const pid = proc.pid ?? 0;
    this.proc = proc;
    this.report = null;
    this.stopping = null;
    const now = new Date().toISOString();
    Object.assign(this.stamps, { startedAt: now, activeEnter: now });
    this.setState('active', 'running', 'success');
    proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.deps.journal.feed('vllm', pid, 'out', chunk));
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.deps.journal.feed('vllm', pid, 'err', chunk));
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve(this.onExit(pid, code, signal))));
    this.systemd(`Started ${this.name}.service - vLLM OpenAI server for ${model.name}.`);
    this.deps.events.add('unit-start', host.name, { pid, flags }, this.name);
    return this.answer(true);
  }

  private async doStop(): Promise<UnitActionResult> {
    const proc = this.proc;
    if (!proc) return this.answer(true);
    const stopping = { timedOut: false };
    this.stopping = stopping;
    this.setState('deactivating', 'stop-sigterm', this.result);
    this.stamps.activeExit = new Date().toISOString();
    this.systemd(`Stopping ${this.name}.service - vLLM OpenAI server for ${this.deps.model.name}...`);
    this.deps.events.add('unit-stop', this.deps.host.name, { pid: proc.pid }, this.name);
    proc.kill('SIGTERM');
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), this.deps.stopTimeoutMs));
    if ((await Promise.race([this.exited.then(() => 'exited' as const), timer])) === 'timeout') {
      stopping.timedOut = true;
      this.systemd(`${this.name}.service: State 'stop-sigterm' timed out. Killing.`);
      this.systemd(`${this.name}.service: Killing process ${proc.pid} (vllm) with signal SIGKILL.`);
      proc.kill('SIGKILL');
    }
    await this.exited;
    return this.answer(true);
  }

  private onExit(pid: number, code: number | null, signal: NodeJS.Signals | null): void {
    this.deps.journal.flush(pid);
    const now = new Date().toISOString();
    const how = signal ? ('killed' as const) : ('exited' as const);
    const status = signal ? (SIGNALS[signal] ?? 0) : (code ?? 0);
    this.execMain = { pid, code: how, status, signal };
    Object.assign(this.stamps, { execMainExit: now, inactiveEnter: now, activeExit: this.stamps.activeExit ?? now });
    this.proc = null;
    this.report = null;
    const stopping = this.stopping;
    this.stopping = null;
    this.deps.events.add('unit-exit', this.deps.host.name, { pid, code, signal, during: stopping ? 'stop' : 'run' }, this.name);
    const clean = how === 'exited' ? status === 0 : stopping !== null && !stopping.timedOut && ['SIGTERM', 'SIGINT'].includes(signal ?? '');
    if (!clean || stopping?.timedOut) this.systemd(`${this.name}.service: Main process exited, code=${how}, status=${statusText(how, status, signal)}`);
    if (stopping?.timedOut) this.finishAs('failed', 'timeout');
    else if (clean) {
      this.systemd(`${this.name}.service: Deactivated successfully.`);
      this.setState('inactive', 'dead', 'success');
    } else this.finishAs('failed', how === 'killed' ? 'signal' : 'exit-code');
    if (stopping) this.systemd(`Stopped ${this.name}.service - vLLM OpenAI server for ${this.deps.model.name}.`);
  }

  private finishAs(state: 'failed', result: UnitView['result']): void {
    this.systemd(`${this.name}.service: Failed with result '${result}'.`);
    this.setState(state, 'failed', result);
  }

  private setState(state: ActiveState, sub: UnitView['subState'], result: UnitView['result']): void {
    this.activeState = state;
    this.subState = sub;
    this.result = result;
  }
}
