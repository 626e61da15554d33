/** nvidia-smi's CSV query output, parsed by column position (header names differ from the field names asked for). */

/** The GPU fields asked for, in the order the parser reads them. */
export const GPU_QUERY_FIELDS = [
  'index',
  'uuid',
  'name',
  'pci.bus_id',
  'driver_version',
  'memory.total',
  'memory.used',
  'memory.free',
  'utilization.gpu',
  'utilization.memory',
  'temperature.gpu',
  'power.draw',
  'power.limit',
  'clocks.sm',
  'pstate',
  'ecc.errors.uncorrected.volatile.total',
] as const;

/** The compute-process fields asked for, in the order of the real captures in test/fixtures/gpu. */
export const APPS_QUERY_FIELDS = ['pid', 'process_name', 'used_gpu_memory', 'gpu_uuid'] as const;

/** The exact command of the GPU query. */
export const GPU_QUERY_ARGV: readonly string[] = Object.freeze([
  'nvidia-smi',
  `--query-gpu=${GPU_QUERY_FIELDS.join(',')}`,
  '--format=csv,noheader,nounits',
]);

/** The exact command of the compute-process query. */
export const APPS_QUERY_ARGV: readonly string[] = Object.freeze([
  'nvidia-smi',
  `--query-compute-apps=${APPS_QUERY_FIELDS.join(',')}`,
  '--format=csv,noheader,nounits',
]);

/** One GPU; a number is null where nvidia-smi says `[N/A]`, `[Not Supported]` or the like. */
export interface GpuInfo {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  readonly pciBusId: string;
  readonly driverVersion: string;
  readonly memoryTotalMiB: number | null;
  readonly memoryUsedMiB: number | null;
  readonly memoryFreeMiB: number | null;
  readonly utilizationGpuPct: number | null;
  readonly utilizationMemoryPct: number | null;
  readonly temperatureC: number | null;
  readonly powerDrawW: number | null;
  readonly powerLimitW: number | null;
  readonly smClockMHz: number | null;
  readonly pstate: string | null;
  readonly eccUncorrected: number | null;
}

/** One process holding GPU memory; `gpuUuid` is null when the output had no uuid column. */
export interface GpuProcess {
  readonly pid: number;
  readonly name: string;
  readonly gpuUuid: string | null;
  readonly usedMiB: number | null;
}

/** Output that is not the expected CSV; the message names the line. */
export class NvidiaSmiParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NvidiaSmiParseError';
  }
}

/** A field name as a header shows it, units and all: `index`, `memory.total [MiB]`. */
const HEADER_CELL = /^[a-z][a-z_.]*( \[[^\]]*\])?$/;

/**
 * The data rows of nvidia-smi CSV output, split on commas (`parts` as they were, `cells`
 * trimmed): blank lines, a header line (a first line that starts with a field name such as
 * `index` or `pid`) and "No running processes found" are skipped.
 */
export function csvRows(text: string): { line: number; parts: string[]; cells: string[] }[] {
  const lines = text.split(/\r?\n/);
  const first = lines.findIndex((l) => l.trim() !== '');
  const rows: { line: number; parts: string[]; cells: string[] }[] = [];
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed === '' || /^no running (compute )?processes found/i.test(trimmed)) return;
    const parts = trimmed.split(',');
    const cells = parts.map((c) => c.trim());
    if (i === first && HEADER_CELL.test(cells[0] ?? '')) return;
    rows.push({ line: i + 1, parts, cells });
  });
  return rows;
}

/** A number from a cell, with or without its unit (` MiB`, ` %`, ` W`, ` MHz`); null for `[N/A]` and other non-numbers. */
export function parseNvidiaNumber(cell: string): number | null {
  const match = /^(-?\d+(?:\.\d+)?)(?:\s*(?:MiB|%|W|MHz|C))?$/.exec(cell.trim());
  return match?.[1] === undefined ? null : Number(match[1]);
}

function textOrNull(cell: string): string | null {
  return cell === '' || /^\[.*\]$/.test(cell) || cell === 'N/A' ? null : cell;
}

function wholeNumber(cell: string, what: string, line: number): number {
  if (!/^\d+$/.test(cell)) throw new NvidiaSmiParseError(`line ${line}: ${what} ${JSON.stringify(cell)} is not a whole number`);
  return Number(cell);
}

/**
 * Parses the output of GPU_QUERY_ARGV (or its `--format=csv` variant with header and units).
 * A name holding commas is rejoined: it is the only free-text column, so extra cells are its.
 */
export function parseGpuQuery(csvText: string): GpuInfo[] {
  const width = GPU_QUERY_FIELDS.length;
  return csvRows(csvText).map(({ line, parts, cells }) => {
    if (cells.length < width) throw new NvidiaSmiParseError(`line ${line}: ${cells.length} columns, expected ${width}`);
    const extra = cells.length - width;
    const c = [...cells.slice(0, 2), parts.slice(2, 3 + extra).join(',').trim(), ...cells.slice(3 + extra)];
    const n = (i: number): number | null => parseNvidiaNumber(c[i] ?? '');
    return {
      index: wholeNumber(c[0] ?? '', 'GPU index', line),
      uuid: c[1] ?? '',
      name: c[2] ?? '',
      pciBusId: c[3] ?? '',
      driverVersion: c[4] ?? '',
      memoryTotalMiB: n(5),
      memoryUsedMiB: n(6),
      memoryFreeMiB: n(7),
      utilizationGpuPct: n(8),
      utilizationMemoryPct: n(9),
      temperatureC: n(10),
      powerDrawW: n(11),
      powerLimitW: n(12),
      smClockMHz: n(13),
      pstate: textOrNull(c[14] ?? ''),
      eccUncorrected: n(15),
    };
  });
}

/**
 * Parses the output of APPS_QUERY_ARGV (pid, process_name, used memory, gpu uuid; header and
 * units allowed). Empty output means no processes. A row of three cells has no uuid column
 * (`--query-compute-apps=pid,process_name,used_memory`); a last cell starting `GPU-`/`MIG-` is
 * the uuid, and cells between the pid and the memory are the name, commas and all.
 */
export function parseComputeApps(csvText: string): GpuProcess[] {
  return csvRows(csvText).map(({ line, parts, cells }) => {
    if (cells.length < 3) throw new NvidiaSmiParseError(`line ${line}: ${cells.length} columns, expected pid, process_name, used_memory[, gpu_uuid]`);
    const last = cells[cells.length - 1] ?? '';
    const hasUuid = cells.length >= 4 && /^(GPU|MIG)-/.test(last);
    const memoryAt = hasUuid ? cells.length - 2 : cells.length - 1;
    return {
      pid: wholeNumber(cells[0] ?? '', 'pid', line),
      name: parts.slice(1, memoryAt).join(',').trim(),
      gpuUuid: hasUuid ? last : null,
      usedMiB: parseNvidiaNumber(cells[memoryAt] ?? ''),
    };
  });
}
