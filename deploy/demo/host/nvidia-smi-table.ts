/** nvidia-smi's default table and `-L`, laid out column for column as driver 580 prints them (shared/fixtures/gpu/nvidia-smi-*.txt). */
import type { GpuView } from '../fleet/api-types.js';
import { ctime } from './time-format.js';

const RULE = `+${'-'.repeat(89)}+`;
const GPU_RULE = `+${'-'.repeat(41)}+${'-'.repeat(24)}+${'-'.repeat(22)}+`;

/** `nvidia-smi -L`. */
export function listGpus(gpus: readonly GpuView[]): string {
  return gpus.map((g) => `GPU ${g.index}: ${g.name} (UUID: ${g.uuid})\n`).join('');
}

function gpuRows(g: GpuView): string[] {
  const power = `${Math.round(g.powerDrawW)}W`;
  const cap = `${Math.round(g.powerLimitW)}W`;
  const ecc = String(g.ecc.volatileDramUncorrectable);
  return [
    `|${String(g.index).padStart(4)}  ${g.name.padEnd(29)}${'On'.padStart(4)}  |   ${g.pciBusId} Off |${ecc.padStart(21)} |`,
    `| N/A  ${`${g.temperatureC}C`.padStart(4)}    ${g.pstate}${power.padStart(16)} / ${cap.padStart(5)} |${`${g.memoryUsedMiB}MiB`.padStart(11)} / ${`${g.memoryTotalMiB}MiB`.padStart(9)} |${`${g.utilizationGpuPct}%`.padStart(8)}${'Default'.padStart(13)} |`,
    `|${' '.repeat(41)}|${' '.repeat(24)}|${'Disabled'.padStart(21)} |`,
  ];
}

/** The default `nvidia-smi` output: banner, one block per GPU, then the process table. */
export function defaultTable(gpus: readonly GpuView[], now = new Date()): string {
  const first = gpus[0];
  const driver = first?.driverVersion ?? '580.159.04';
  const cuda = first?.cudaVersion ?? '13.0';
  const lines = [
    `${ctime(now)}       `,
    RULE,
    `| NVIDIA-SMI ${driver.padEnd(22)} Driver Version: ${driver.padEnd(14)} CUDA Version: ${cuda.padEnd(9)}|`,
    GPU_RULE,
    '| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |',
    '| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |',
    '|                                         |                        |               MIG M. |',
    `|${'='.repeat(41)}+${'='.repeat(24)}+${'='.repeat(22)}|`,
  ];
  gpus.forEach((g, i) => {
    lines.push(...gpuRows(g));
    lines.push(i === gpus.length - 1 ? GPU_RULE : `+${'-'.repeat(41)}+${'-'.repeat(24)}+${'-'.repeat(22)}+`);
  });
  lines.push(
    '',
    RULE,
    `| Processes:${' '.repeat(78)}|`,
    '|  GPU   GI   CI              PID   Type   Process name                        GPU Memory |',
    '|        ID   ID                                                               Usage      |',
    `|${'='.repeat(89)}|`,
  );
  const processes = gpus.flatMap((g) => g.processes.map((p) => ({ gpu: g.index, ...p })));
  if (processes.length === 0) lines.push(`|  No running processes found${' '.repeat(61)}|`);
  for (const p of processes) {
    const name = p.name.length > 28 ? `${p.name.slice(0, 25)}...` : p.name;
    lines.push(`|${String(p.gpu).padStart(5)}   N/A  N/A${String(p.pid).padStart(16)}      C   ${name.padEnd(28)}${`${p.usedMiB}MiB`.padStart(18)} |`);
  }
  lines.push(RULE);
  return `${lines.join('\n')}\n`;
}
