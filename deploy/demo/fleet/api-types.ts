/** The JSON shapes of the supervisor's control API, shared by the supervisor, the host stand-ins and fleet-client. */

/** systemd's ActiveState of a unit. */
export type ActiveState = 'active' | 'inactive' | 'failed' | 'deactivating';

/** The flags an engine was started with, read from the unit's env file at start. */
export interface EngineFlags {
  readonly version: string;
  readonly gpuMemoryUtilization: string;
  readonly maxNumSeqs: string;
  readonly maxModelLen: string;
  readonly enforceEager: boolean;
  /** From CUDA_VISIBLE_DEVICES (its first index); null when that is not a GPU index. */
  readonly gpu: number | null;
  readonly host: string;
  readonly port: string;
}

/** One vllm@MODEL unit as systemd would describe it, plus what the engine last reported. */
export interface UnitView {
  readonly host: string;
  readonly unit: string;
  readonly model: string;
  /** The same as activeState, under the short name. */
  readonly state: ActiveState;
  readonly activeState: ActiveState;
  readonly subState: 'running' | 'dead' | 'failed' | 'stop-sigterm';
  /** systemd's Result: why the unit last stopped or failed. */
  readonly result: 'success' | 'exit-code' | 'signal' | 'timeout' | 'resources';
  /** 0 when no engine runs. */
  readonly mainPid: number;
  readonly pid: number;
  /** The vLLM version of the running (or last) engine. */
  readonly version: string | null;
  /** The last engine's exit: code=exited with its status, or code=killed with the signal number. */
  readonly execMain: { readonly pid: number; readonly code: 'exited' | 'killed'; readonly status: number; readonly signal: string | null } | null;
  readonly flags: EngineFlags | null;
  /** The engine's own phase while it runs (loading, ready, dying); null when none runs. */
  readonly phase: 'loading' | 'ready' | 'dying' | null;
  readonly memoryMiB: number;
  readonly envFile: string;
  readonly startedAt: string | null;
  readonly activeEnterTimestamp: string | null;
  readonly activeExitTimestamp: string | null;
  readonly inactiveEnterTimestamp: string | null;
  readonly execMainExitTimestamp: string | null;
  /** How many times a start was asked for since the supervisor began. */
  readonly starts: number;
}

/** One process holding memory on a GPU. */
export interface GpuProcessView {
  readonly pid: number;
  readonly name: string;
  readonly usedMiB: number;
  readonly unit: string;
}

/** One GPU of a host, with the fields nvidia-smi and dcgm-exporter print. */
export interface GpuView {
  readonly host: string;
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  readonly pciBusId: string;
  readonly driverVersion: string;
  readonly cudaVersion: string;
  readonly memoryTotalMiB: number;
  readonly memoryReservedMiB: number;
  readonly memoryUsedMiB: number;
  readonly memoryFreeMiB: number;
  readonly utilizationGpuPct: number;
  readonly utilizationMemoryPct: number;
  readonly temperatureC: number;
  readonly memoryTemperatureC: number;
  readonly powerDrawW: number;
  readonly powerLimitW: number;
  readonly smClockMHz: number;
  readonly memClockMHz: number;
  readonly pstate: string;
  readonly ecc: { readonly volatileDramUncorrectable: number; readonly aggregateDramUncorrectable: number; readonly remappedRowsUncorrectable: number; readonly remapPending: boolean };
  /** The last Xid since the last reset (dcgm's DCGM_FI_DEV_XID_ERRORS), 0 when none. */
  readonly xid: number;
  /** dcgm-exporter's err_msg for it ("No Error" for 0). */
  readonly xidMessage: string;
  readonly xidAt: string | null;
  /** Xids seen recently, for DCGM_EXP_XID_ERRORS_COUNT. */
  readonly xidHistory: readonly { readonly code: number; readonly at: string }[];
  /** A hardware Xid left the GPU unusable until a reset. */
  readonly resetRequired: boolean;
  readonly processes: readonly GpuProcessView[];
}

/** One host of fleet.json. */
export interface HostView {
  readonly name: string;
  readonly ip: string;
  readonly dcgmPort: number;
  readonly gpus: number;
}

/** An injected fault as the supervisor keeps it. */
export interface FaultView {
  readonly id: string;
  readonly kind: string;
  readonly injectedAt: string;
  /** A one-shot fault whose engine has exited or restarted no longer acts. */
  readonly spent: boolean;
  readonly [field: string]: unknown;
}

/** GET /state. */
export interface FleetState {
  readonly startedAt: string;
  readonly controlPort: number;
  readonly ready: boolean;
  readonly hosts: readonly HostView[];
  /** Every unit of every host. */
  readonly units: readonly UnitView[];
  /** Every GPU of every host. */
  readonly gpus: readonly GpuView[];
  readonly faults: readonly FaultView[];
}

/** One entry of GET /events, in order. */
export interface FleetEvent {
  readonly seq: number;
  readonly at: string;
  readonly kind: string;
  readonly host: string;
  readonly unit?: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** One journal line of a unit: systemd's own lines (ident systemd) and the engine's output (ident vllm). */
export interface JournalEntry {
  readonly at: string;
  readonly ident: string;
  readonly pid: number;
  readonly message: string;
}

/** POST /units/HOST/UNIT/ACTION. */
export interface UnitActionResult {
  readonly ok: boolean;
  readonly state: ActiveState;
  readonly pid: number;
  readonly error?: string;
}

/** POST /gpus/HOST/GPU/reset: nvidia-smi's own text and exit code for what happened. */
export interface GpuResetResult {
  readonly ok: boolean;
  readonly message: string;
  readonly exitCode: number;
}

/** An engine's report to the supervisor, every heartbeat. */
export interface EngineHeartbeat {
  readonly pid: number;
  readonly phase: 'loading' | 'ready' | 'dying';
  readonly memoryMiB: number;
  readonly utilizationPct: number;
  readonly running: number;
  readonly waiting: number;
}

/** What the supervisor tells an engine in answer to a heartbeat: the faults that act on it now. */
export interface EngineDirective {
  readonly hung: boolean;
  readonly ignoreSigterm: boolean;
  /** Ramp memory to targetMiB over rampSeconds once loaded, hold holdSeconds, then die of CUDA OOM. */
  readonly oom: { readonly rampSeconds: number; readonly holdSeconds: number; readonly targetMiB: number; readonly pidsOnGpu: readonly { readonly pid: number; readonly usedMiB: number }[] } | null;
  /** Exit this many seconds after loading (or after this directive first arrives, if later). */
  readonly crashAfterReadySeconds: number | null;
  /** Exit: print the lines (stderr), answer in-flight requests 500, exit with the code after afterMs. */
  readonly exit: { readonly afterMs: number; readonly code: number; readonly lines: readonly string[] } | null;
}
