/** A short human summary of captured GPUs and processes: one line for each. */

import type { GpuInfo, GpuProcess } from './nvidia-smi.js';

function num(value: number | null, unit = ''): string {
  return value === null ? 'n/a' : `${value}${unit}`;
}

/** One line for a GPU: memory, utilisation, temperature, power, pstate and uncorrected ECC errors. */
export function gpuLine(gpu: GpuInfo): string {
  return (
    `GPU ${gpu.index} ${gpu.name} ${gpu.uuid}: memory ${num(gpu.memoryUsedMiB)}/${num(gpu.memoryTotalMiB)} MiB used, ` +
    `utilization ${num(gpu.utilizationGpuPct, '%')}, ${num(gpu.temperatureC, ' C')}, ` +
    `power ${num(gpu.powerDrawW)}/${num(gpu.powerLimitW)} W, ${gpu.pstate ?? 'n/a'}, uncorrected ECC ${num(gpu.eccUncorrected)}`
  );
}

/** One line for a process, naming its GPU by index where the uuid is known. */
export function processLine(process: GpuProcess, gpus: readonly GpuInfo[]): string {
  const gpu = gpus.find((g) => g.uuid === process.gpuUuid);
  const where = gpu ? `GPU ${gpu.index}` : (process.gpuUuid ?? 'unknown GPU');
  return `pid ${process.pid} ${process.name} on ${where}: ${num(process.usedMiB, ' MiB')}`;
}

/** The whole summary, ending with a newline. */
export function gpuSummary(gpus: readonly GpuInfo[], processes: readonly GpuProcess[]): string {
  const lines = gpus.map(gpuLine);
  if (gpus.length === 0) lines.push('no GPUs');
  lines.push(...processes.map((p) => processLine(p, gpus)));
  if (processes.length === 0) lines.push('no compute processes');
  return `${lines.join('\n')}\n`;
}
