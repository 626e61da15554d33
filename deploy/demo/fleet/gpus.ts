/** A host's GPUs: identity, memory from the engines on them, utilisation, Xids, ECC and resets. */
import { createHash } from 'node:crypto';
import type { GpuProcessView, GpuResetResult, GpuView } from './api-types.js';
import { GPU_RESERVED_MIB, GPU_TOTAL_MIB } from './engine-log.js';
import { APPLICATION_XIDS, xidMessage } from './xid.js';

/** What an engine on the GPU last reported. */
export interface GpuTenant {
  readonly pid: number;
  readonly unit: string;
  readonly memoryMiB: number;
  readonly utilizationPct: number;
}

/** The driver of the real captures. */
export const DRIVER_VERSION = '580.159.04';

/** One simulated H100 80GB HBM3. */
export class Gpu {
  readonly uuid: string;
  readonly pciBusId: string;
  xid: { code: number; at: string } | null = null;
  /** A hardware Xid: engines cannot start on the GPU until a reset that works. */
  resetRequired = false;
  /** A reset does not clear the hardware fault (the xid fault's resetFixes: false). */
  resetFails = false;
  readonly xidHistory: { code: number; at: string }[] = [];
  private volatileDbe = 0;
  private aggregateDbe = 0;
  private remappedUncorrectable = 0;
  private remapPending = false;

  constructor(
    readonly host: string,
    readonly index: number,
  ) {
    // A stable UUID per host and index, shaped like the real GPU-660d7a23-b045-31d7-4cdf-3688752bb7ba.
    const hex = createHash('sha256').update(`${host}/${index}`).digest('hex');
    this.uuid = `GPU-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
    this.pciBusId = `00000000:00:${(6 + index).toString(16).toUpperCase().padStart(2, '0')}.0`;
  }

  /** Records an Xid; ECC codes also move the ECC and row-remapper counters nvidia-smi -q shows. */
  raiseXid(code: number, resetFixes: boolean): void {
    const at = new Date().toISOString();
    this.xid = { code, at };
    this.xidHistory.push({ code, at });
    if (!APPLICATION_XIDS.has(code)) {
      this.resetRequired = true;
      this.resetFails = !resetFixes;
    }
    if ([48, 94, 95].includes(code)) {
      this.volatileDbe++;
      this.aggregateDbe++;
    }
    if ([63, 64, 94, 95].includes(code)) {
      this.remappedUncorrectable++;
      this.remapPending = true;
    }
  }

  /** Forgets the Xid (the xid fault was cleared): the board is as good as new. */
  clearXid(): void {
    this.xid = null;
    this.resetRequired = false;
    this.resetFails = false;
    this.volatileDbe = 0;
    this.remapPending = false;
  }

  /** nvidia-smi --gpu-reset: refused while a process holds the GPU; fails on a board the fault says a reset cannot fix. */
  reset(tenants: readonly GpuTenant[]): GpuResetResult {
    if (tenants.length > 0) {
      const message = [
        'The following GPUs could not be reset:',
        `  GPU ${this.pciBusId}: In use by another client`,
        '',
        '1 device is currently being used by one or more other processes (e.g., Fabric Manager, CUDA application, graphics application such as an X server, or a monitoring application such as another instance of nvidia-smi). Please first kill all processes using the device and retry the command or reboot the system to make GPU reset take effect.',
      ].join('\n');
      return { ok: false, message, exitCode: 255 };
    }
    if (this.resetRequired && this.resetFails) {
      return { ok: false, message: `Unable to reset GPU ${this.pciBusId}: Unknown Error\nA reboot is required to recover this GPU.`, exitCode: 255 };
    }
    this.xid = null;
    this.resetRequired = false;
    this.volatileDbe = 0;
    // A reset activates pending row remaps.
    this.remapPending = false;
    return { ok: true, message: `GPU ${this.pciBusId} was successfully reset.\nAll done.`, exitCode: 0 };
  }

  /** Xids within the last `windowMs`, for DCGM_EXP_XID_ERRORS_COUNT. */
  recentXids(windowMs: number, now = Date.now()): { code: number; at: string }[] {
    while (this.xidHistory.length > 0 && Date.parse(this.xidHistory[0]?.at ?? '') < now - 3600_000) this.xidHistory.shift();
    return this.xidHistory.filter((x) => Date.parse(x.at) >= now - windowMs);
  }

  /** The GPU as nvidia-smi and dcgm see it, given the engines on it. */
  view(tenants: readonly GpuTenant[]): GpuView {
    const processes: GpuProcessView[] = tenants.map((t) => ({ pid: t.pid, name: 'VLLM::EngineCore', usedMiB: t.memoryMiB, unit: t.unit }));
    // A context costs 9 MiB beyond what the processes report (61967 used for one 61958 MiB process in the capture).
    const capacity = GPU_TOTAL_MIB - GPU_RESERVED_MIB;
    const used = Math.min(capacity, processes.reduce((sum, p) => sum + p.usedMiB, 0) + (processes.length > 0 ? 9 : 0));
    const util = Math.min(100, tenants.reduce((sum, t) => sum + t.utilizationPct, 0));
    const busy = util > 0;
    return {
      host: this.host,
      index: this.index,
      uuid: this.uuid,
      name: 'NVIDIA H100 80GB HBM3',
      pciBusId: this.pciBusId,
      driverVersion: DRIVER_VERSION,
      cudaVersion: '13.0',
      memoryTotalMiB: GPU_TOTAL_MIB,
      memoryReservedMiB: GPU_RESERVED_MIB,
      memoryUsedMiB: used,
      memoryFreeMiB: capacity - used,
      utilizationGpuPct: util,
      utilizationMemoryPct: Math.round(util * 0.4),
      temperatureC: 36 + Math.round(util * 0.3),
      memoryTemperatureC: 38 + Math.round(util * 0.3),
      powerDrawW: Math.round((75 + util * 6) * 100) / 100,
      powerLimitW: 700,
      smClockMHz: busy ? 1980 : 345,
      memClockMHz: 2619,
      pstate: 'P0',
      ecc: { volatileDramUncorrectable: this.volatileDbe, aggregateDramUncorrectable: this.aggregateDbe, remappedRowsUncorrectable: this.remappedUncorrectable, remapPending: this.remapPending },
      xid: this.xid?.code ?? 0,
      xidMessage: xidMessage(this.xid?.code ?? 0),
      xidAt: this.xid?.at ?? null,
      xidHistory: [...this.xidHistory],
      resetRequired: this.resetRequired,
      processes,
    };
  }
}
