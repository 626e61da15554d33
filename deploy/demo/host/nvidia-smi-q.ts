/** `nvidia-smi -q [-i N] [-d SECTION,...]`: the text report, with -d picking sections as the driver does. */
import type { GpuView } from '../fleet/api-types.js';
import { ctime } from './time-format.js';

/** A line of the report: a label with a value, or a heading with nested lines. */
type Node = readonly [string, string | readonly Node[]];

/** The -d names nvidia-smi accepts. */
export const DISPLAY_SECTIONS = ['MEMORY', 'UTILIZATION', 'ECC', 'TEMPERATURE', 'POWER', 'CLOCK', 'COMPUTE', 'PIDS', 'PERFORMANCE', 'SUPPORTED_CLOCKS', 'PAGE_RETIREMENT', 'ACCOUNTING', 'ENCODER_STATS', 'SUPPORTED_GPU_TARGET_TEMP', 'VOLTAGE', 'FBC_STATS', 'ROW_REMAPPER', 'RESET_STATUS', 'GSP_FIRMWARE_VERSION'] as const;

function sections(g: GpuView): Record<string, readonly Node[]> {
  const mib = (n: number): string => `${n} MiB`;
  const sram = (extra: readonly Node[]): readonly Node[] => [
    ['SRAM Correctable', '0'],
    ['SRAM Uncorrectable Parity', '0'],
    ['SRAM Uncorrectable SEC-DED', '0'],
    ['DRAM Correctable', '0'],
    ...extra,
  ];
  return {
    PERFORMANCE: [['Performance State', g.pstate]],
    MEMORY: [
      ['FB Memory Usage', [['Total', mib(g.memoryTotalMiB)], ['Reserved', mib(g.memoryReservedMiB)], ['Used', mib(g.memoryUsedMiB)], ['Free', mib(g.memoryFreeMiB)]]],
      ['BAR1 Memory Usage', [['Total', '131072 MiB'], ['Used', mib(g.memoryUsedMiB + 1)], ['Free', mib(131071 - g.memoryUsedMiB)]]],
    ],
    COMPUTE: [['Compute Mode', 'Default']],
    UTILIZATION: [['Utilization', [['GPU', `${g.utilizationGpuPct} %`], ['Memory', `${g.utilizationMemoryPct} %`], ['Encoder', '0 %'], ['Decoder', '0 %'], ['JPEG', '0 %'], ['OFA', '0 %']]]],
    ECC: [
      ['ECC Mode', [['Current', 'Enabled'], ['Pending', 'Enabled']]],
      [
        'ECC Errors',
        [
          ['Volatile', sram([['DRAM Uncorrectable', String(g.ecc.volatileDramUncorrectable)]])],
          ['Aggregate', sram([['DRAM Uncorrectable', String(g.ecc.aggregateDramUncorrectable)], ['SRAM Threshold Exceeded', 'No']])],
          ['Aggregate Uncorrectable SRAM Sources', [['SRAM L2', '0'], ['SRAM SM', '0'], ['SRAM Microcontroller', '0'], ['SRAM PCIE', '0'], ['SRAM Other', '0']]],
          ['Channel Repair Pending', 'No'],
          ['TPC Repair Pending', 'No'],
        ],
      ],
    ],
    PAGE_RETIREMENT: [['Retired Pages', [['Single Bit ECC', 'N/A'], ['Double Bit ECC', 'N/A'], ['Pending Page Blacklist', 'N/A']]]],
    ROW_REMAPPER: [
      [
        'Remapped Rows',
        [
          ['Correctable Error', '0'],
          ['Uncorrectable Error', String(g.ecc.remappedRowsUncorrectable)],
          ['Pending', g.ecc.remapPending ? 'Yes' : 'No'],
          ['Remapping Failure Occurred', 'No'],
          ['Bank Remap Availability Histogram', [['Max', '2560 bank(s)'], ['High', '0 bank(s)'], ['Partial', '0 bank(s)'], ['Low', '0 bank(s)'], ['None', '0 bank(s)']]],
        ],
      ],
    ],
    TEMPERATURE: [['Temperature', [['GPU Current Temp', `${g.temperatureC} C`], ['GPU T.Limit Temp', `${87 - g.temperatureC} C`], ['GPU Shutdown T.Limit Temp', '-8 C'], ['GPU Slowdown T.Limit Temp', '-2 C'], ['GPU Max Operating T.Limit Temp', '0 C'], ['GPU Target Temperature', 'N/A'], ['Memory Current Temp', `${g.memoryTemperatureC} C`], ['Memory Max Operating T.Limit Temp', '0 C']]]],
    POWER: [['GPU Power Readings', [['Average Power Draw', `${g.powerDrawW.toFixed(2)} W`], ['Instantaneous Power Draw', `${g.powerDrawW.toFixed(2)} W`], ['Current Power Limit', `${g.powerLimitW.toFixed(2)} W`], ['Requested Power Limit', '700.00 W'], ['Default Power Limit', '700.00 W'], ['Min Power Limit', '200.00 W'], ['Max Power Limit', '700.00 W']]]],
    CLOCK: [['Clocks', [['Graphics', `${g.smClockMHz} MHz`], ['SM', `${g.smClockMHz} MHz`], ['Memory', `${g.memClockMHz} MHz`], ['Video', g.smClockMHz > 1000 ? '1545 MHz' : '765 MHz']]]],
    PIDS: [
      g.processes.length === 0
        ? ['Processes', 'None']
        : ['Processes', g.processes.map((p) => ['Process ID', [['GPU instance ID', 'N/A'], ['Compute instance ID', 'N/A'], ['Process ID', String(p.pid)], ['Type', 'C'], ['Name', p.name], ['Used GPU Memory', mib(p.usedMiB)]]] as Node)],
    ],
  };
}

function identity(g: GpuView): readonly Node[] {
  return [
    ['Product Name', g.name],
    ['Product Brand', 'NVIDIA'],
    ['Product Architecture', 'Hopper'],
    ['Persistence Mode', 'Enabled'],
    ['MIG Mode', [['Current', 'Disabled'], ['Pending', 'Disabled']]],
    ['GPU UUID', g.uuid],
    ['Minor Number', String(g.index)],
    ['VBIOS Version', '96.00.DA.00.0C'],
    ['GPU Recovery Action', g.resetRequired ? 'Reset' : 'None'],
    ['PCI', [['Bus', g.pciBusId.slice(9, 11)], ['Device', g.pciBusId.slice(12, 14)], ['Domain', '0x0000'], ['Device Id', '0x233010DE'], ['Bus Id', g.pciBusId]]],
  ];
}

function render(nodes: readonly Node[], depth: number): string[] {
  const indent = '    '.repeat(depth);
  return nodes.flatMap(([label, value]) => (typeof value === 'string' ? [`${indent}${label.padEnd(Math.max(1, 42 - indent.length))}: ${value}`] : [`${indent}${label}`, ...render(value, depth + 1)]));
}

/** The text report for the GPUs given; `display` are -d's names (all sections when empty). */
export function queryText(gpus: readonly GpuView[], attached: number, display: readonly string[], now = new Date()): string {
  const order = ['PERFORMANCE', 'MEMORY', 'COMPUTE', 'UTILIZATION', 'ECC', 'PAGE_RETIREMENT', 'ROW_REMAPPER', 'TEMPERATURE', 'POWER', 'CLOCK', 'PIDS'];
  const lines = ['', '==============NVSMI LOG==============', '', ...render([['Timestamp', ctime(now)], ['Driver Version', gpus[0]?.driverVersion ?? ''], ['CUDA Version', gpus[0]?.cudaVersion ?? '']], 0), '', ...render([['Attached GPUs', String(attached)]], 0)];
  for (const g of gpus) {
    const s = sections(g);
    const chosen = display.length === 0 ? [...identity(g), ...order.flatMap((k) => s[k] ?? [])] : order.filter((k) => display.includes(k)).flatMap((k) => s[k] ?? []);
    lines.push(`GPU ${g.pciBusId}`, ...render(chosen, 1), '');
  }
  return `${lines.join('\n')}\n`;
}
