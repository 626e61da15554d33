/** `--query-gpu=...` and `--query-compute-apps=...` with `--format=csv[,noheader][,nounits]`, as driver 580 prints them. */
import type { GpuProcessView, GpuView } from '../fleet/api-types.js';
import { nvidiaTimestamp } from './time-format.js';

/** A field: its header (units in brackets, sometimes a different name) and its value with and without units. */
interface Field<T> {
  readonly header: string;
  readonly value: (row: T, now: Date) => string;
  readonly unit?: string;
}

const num = (n: number, decimals = 0): string => n.toFixed(decimals);

const GPU_FIELDS: Record<string, Field<GpuView>> = {
  timestamp: { header: 'timestamp', value: (_g, now) => nvidiaTimestamp(now) },
  driver_version: { header: 'driver_version', value: (g) => g.driverVersion },
  count: { header: 'count', value: () => '' },
  name: { header: 'name', value: (g) => g.name },
  gpu_name: { header: 'name', value: (g) => g.name },
  uuid: { header: 'uuid', value: (g) => g.uuid },
  gpu_uuid: { header: 'uuid', value: (g) => g.uuid },
  index: { header: 'index', value: (g) => String(g.index) },
  'pci.bus_id': { header: 'pci.bus_id', value: (g) => g.pciBusId },
  gpu_bus_id: { header: 'pci.bus_id', value: (g) => g.pciBusId },
  persistence_mode: { header: 'persistence_mode', value: () => 'Enabled' },
  pstate: { header: 'pstate', value: (g) => g.pstate },
  'memory.total': { header: 'memory.total [MiB]', value: (g) => num(g.memoryTotalMiB), unit: 'MiB' },
  'memory.reserved': { header: 'memory.reserved [MiB]', value: (g) => num(g.memoryReservedMiB), unit: 'MiB' },
  'memory.used': { header: 'memory.used [MiB]', value: (g) => num(g.memoryUsedMiB), unit: 'MiB' },
  'memory.free': { header: 'memory.free [MiB]', value: (g) => num(g.memoryFreeMiB), unit: 'MiB' },
  'utilization.gpu': { header: 'utilization.gpu [%]', value: (g) => num(g.utilizationGpuPct), unit: '%' },
  'utilization.memory': { header: 'utilization.memory [%]', value: (g) => num(g.utilizationMemoryPct), unit: '%' },
  'temperature.gpu': { header: 'temperature.gpu', value: (g) => num(g.temperatureC) },
  'temperature.memory': { header: 'temperature.memory', value: (g) => num(g.memoryTemperatureC) },
  'power.draw': { header: 'power.draw [W]', value: (g) => num(g.powerDrawW, 2), unit: 'W' },
  'power.limit': { header: 'power.limit [W]', value: (g) => num(g.powerLimitW, 2), unit: 'W' },
  'clocks.sm': { header: 'clocks.current.sm [MHz]', value: (g) => num(g.smClockMHz), unit: 'MHz' },
  'clocks.current.sm': { header: 'clocks.current.sm [MHz]', value: (g) => num(g.smClockMHz), unit: 'MHz' },
  'clocks.mem': { header: 'clocks.current.memory [MHz]', value: (g) => num(g.memClockMHz), unit: 'MHz' },
  'clocks.gr': { header: 'clocks.current.graphics [MHz]', value: (g) => num(g.smClockMHz), unit: 'MHz' },
  'ecc.errors.uncorrected.volatile.total': { header: 'ecc.errors.uncorrected.volatile.total', value: (g) => String(g.ecc.volatileDramUncorrectable) },
  'ecc.errors.uncorrected.aggregate.total': { header: 'ecc.errors.uncorrected.aggregate.total', value: (g) => String(g.ecc.aggregateDramUncorrectable) },
  'retired_pages.pending': { header: 'retired_pages.pending', value: () => '[N/A]' },
  'remapped_rows.pending': { header: 'remapped_rows.pending', value: (g) => (g.ecc.remapPending ? 'Yes' : 'No') },
  compute_mode: { header: 'compute_mode', value: () => 'Default' },
  'fan.speed': { header: 'fan.speed [%]', value: () => '[N/A]' },
  'mig.mode.current': { header: 'mig.mode.current', value: () => 'Disabled' },
};

type AppRow = GpuProcessView & { readonly gpu: GpuView };

const APP_FIELDS: Record<string, Field<AppRow>> = {
  timestamp: { header: 'timestamp', value: (_r, now) => nvidiaTimestamp(now) },
  pid: { header: 'pid', value: (r) => String(r.pid) },
  process_name: { header: 'process_name', value: (r) => r.name },
  name: { header: 'process_name', value: (r) => r.name },
  used_gpu_memory: { header: 'used_gpu_memory [MiB]', value: (r) => String(r.usedMiB), unit: 'MiB' },
  used_memory: { header: 'used_gpu_memory [MiB]', value: (r) => String(r.usedMiB), unit: 'MiB' },
  gpu_uuid: { header: 'gpu_uuid', value: (r) => r.gpu.uuid },
  gpu_bus_id: { header: 'gpu_bus_id', value: (r) => r.gpu.pciBusId },
  gpu_name: { header: 'gpu_name', value: (r) => r.gpu.name },
};

/** An unknown field or format: nvidia-smi's message and exit code 2. */
export class QueryError extends Error {}

/** The parts of `--format=csv,noheader,nounits`. */
export function parseFormat(format: string | undefined): { header: boolean; units: boolean } {
  const parts = (format ?? '').split(',').map((p) => p.trim());
  if (parts[0] !== 'csv') throw new QueryError(`"${format ?? ''}" is not a valid format.`);
  return { header: !parts.includes('noheader'), units: !parts.includes('nounits') };
}

function csv<T>(rows: readonly T[], fieldList: string, table: Record<string, Field<T>>, format: { header: boolean; units: boolean }, now: Date, count: number): string {
  const names = fieldList.split(',').map((f) => f.trim());
  const fields = names.map((n) => {
    const field = table[n];
    if (!field) throw new QueryError(`Field "${n}" is not a valid field to query.`);
    return n === 'count' ? { ...field, value: () => String(count) } : field;
  });
  const lines = format.header ? [fields.map((f) => f.header).join(', ')] : [];
  for (const row of rows) lines.push(fields.map((f) => `${f.value(row, now)}${format.units && f.unit ? ` ${f.unit}` : ''}`).join(', '));
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** `--query-gpu=FIELDS`. */
export function queryGpu(gpus: readonly GpuView[], fields: string, format: { header: boolean; units: boolean }, now = new Date()): string {
  return csv(gpus, fields, GPU_FIELDS, format, now, gpus.length);
}

/** `--query-compute-apps=FIELDS`. */
export function queryComputeApps(gpus: readonly GpuView[], fields: string, format: { header: boolean; units: boolean }, now = new Date()): string {
  const rows = gpus.flatMap((gpu) => gpu.processes.map((p) => ({ ...p, gpu })));
  return csv(rows, fields, APP_FIELDS, format, now, rows.length);
}
