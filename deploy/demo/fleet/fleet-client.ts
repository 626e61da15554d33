/** Typed calls to the supervisor's control API, and startFleet, which runs the supervisor for a rehearsal or a test. */
import type { FaultView, FleetEvent, FleetState, GpuResetResult, GpuView, JournalEntry, UnitActionResult } from './api-types.js';
import { callJson, post, startReadyChild } from './child-process.js';
import { compiled } from './paths.js';

export type { FaultView, FleetEvent, FleetState, GpuResetResult, GpuView, JournalEntry, UnitActionResult, UnitView } from './api-types.js';
export type { FaultSpec } from './faults.js';

/** A fault as POST /faults takes it (FaultSpec's shapes; fields with defaults may be left out); the supervisor checks it. */
export type FaultInput = Readonly<Record<string, unknown>>;

const call = callJson;

/** GET /state: hosts, every unit, every GPU and the active faults. */
export function getState(controlUrl: string): Promise<FleetState> {
  return call(`${controlUrl}/state`);
}

/** The same as getState. */
export const fleetState = getState;

/** POST /units/HOST/UNIT/ACTION; a failed start answers `{ok: false}` instead of throwing. */
export function unitAction(controlUrl: string, host: string, unit: string, action: 'start' | 'stop' | 'restart'): Promise<UnitActionResult> {
  return call(`${controlUrl}/units/${encodeURIComponent(host)}/${encodeURIComponent(unit)}/${action}`, post(), [500]);
}

/** POST /faults. */
export function injectFault(controlUrl: string, fault: FaultInput): Promise<{ id: string; injectedAt: string }> {
  return call(`${controlUrl}/faults`, post(fault));
}

/** DELETE /faults. */
export function clearFaults(controlUrl: string): Promise<{ cleared: number }> {
  return call(`${controlUrl}/faults`, { method: 'DELETE' });
}

/** GET /faults: the active faults. */
export function activeFaults(controlUrl: string): Promise<FaultView[]> {
  return call(`${controlUrl}/faults`);
}

/** GET /events: the ordered event log, after sequence number `after` when given. */
export function events(controlUrl: string, after = 0): Promise<FleetEvent[]> {
  return call(`${controlUrl}/events${after > 0 ? `?after=${after}` : ''}`);
}

/** The same as events. */
export const fleetEvents = events;

/** GET /gpus/HOST. */
export function gpus(controlUrl: string, host: string): Promise<GpuView[]> {
  return call(`${controlUrl}/gpus/${encodeURIComponent(host)}`);
}

/** POST /gpus/HOST/GPU/reset; a refused or failed reset answers `{ok: false, message}` instead of throwing. */
export function gpuReset(controlUrl: string, host: string, gpu: number): Promise<GpuResetResult> {
  return call(`${controlUrl}/gpus/${encodeURIComponent(host)}/${gpu}/reset`, post(), [409, 500]);
}

/** GET /units/HOST/UNIT/journal. */
export async function journal(controlUrl: string, host: string, unit: string, lines?: number): Promise<JournalEntry[]> {
  const body = await call<{ entries: JournalEntry[] }>(`${controlUrl}/units/${encodeURIComponent(host)}/${encodeURIComponent(unit)}/journal${lines === undefined ? '' : `?lines=${lines}`}`);
  return body.entries;
}

/** A running supervisor. */
export interface FleetHandle {
  readonly pid: number;
  readonly controlUrl: string;
  /** The supervisor's stdout and stderr so far. */
  output(): string;
  /** SIGTERM (it stops every engine first), SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Options of startFleet. */
export interface StartFleetOptions {
  /** dcgm's --xid-count-window-size (default 5m). */
  readonly xidCountWindow?: string;
  /** How long a unit stop waits before SIGKILL (default 5s). */
  readonly stopTimeout?: string;
  readonly readyTimeoutMs?: number;
}

/** The compiled supervisor, found from this module whether it runs compiled (build/demo/...) or as TypeScript. */
export function supervisorScript(): string {
  return compiled(import.meta.url, 'deploy/demo/fleet/supervisor.js');
}

/** Spawns the supervisor on `configPath` and resolves when it prints `fleet ready`; rejects with its output if it exits or times out first. */
export async function startFleet(configPath: string, options: StartFleetOptions = {}): Promise<FleetHandle> {
  const args = ['--config', configPath];
  if (options.xidCountWindow) args.push('--xid-count-window', options.xidCountWindow);
  if (options.stopTimeout) args.push('--stop-timeout', options.stopTimeout);
  const child = await startReadyChild({ script: supervisorScript(), args, readyMessage: 'fleet ready', what: 'the supervisor', timeoutMs: options.readyTimeoutMs ?? 60_000 });
  return { pid: child.pid, controlUrl: String(child.ready.controlUrl), output: child.output, stop: (graceMs = 15_000) => child.stop(graceMs) };
}
