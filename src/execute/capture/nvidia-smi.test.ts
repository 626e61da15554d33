import { describe, it, expect } from '@jest/globals';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  APPS_QUERY_ARGV,
  GPU_QUERY_ARGV,
  NvidiaSmiParseError,
  csvRows,
  parseComputeApps,
  parseGpuQuery,
  parseNvidiaNumber,
} from './nvidia-smi.js';

/** Text of a file in test/fixtures/gpu (copies of the real H100 captures in shared/fixtures/gpu). */
function fixture(name: string): string {
  return fs.readFileSync(fileURLToPath(new URL(`../../../test/fixtures/gpu/${name}`, import.meta.url)), 'utf8');
}

/** The lines under `## heading` in a multi-section capture, up to the next `## ` heading. */
function section(text: string, heading: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf(`## ${heading}`);
  if (start < 0) throw new Error(`no section "## ${heading}"`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => l.startsWith('## '));
  return (end < 0 ? rest : rest.slice(0, end)).join('\n');
}

/** One xml element's text (first occurrence after `after`), for cross-checking the CSV against `nvidia-smi -q -x`. */
function xmlText(xml: string, tag: string, after = ''): string {
  const from = after === '' ? 0 : xml.indexOf(after);
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml.slice(from));
  if (!match?.[1]) throw new Error(`no <${tag}> after ${after}`);
  return match[1];
}

const UUID = 'GPU-660d7a23-b045-31d7-4cdf-3688752bb7ba';
const H100 = { index: 0, uuid: UUID, name: 'NVIDIA H100 80GB HBM3', pciBusId: '00000000:00:06.0', driverVersion: '580.159.04', memoryTotalMiB: 81559 };

const idle = fixture('nvidia-smi-idle.txt');
const busy = fixture('nvidia-smi-busy.txt');

describe('the query argv', () => {
  it('asks for the documented GPU fields and the compute-process fields in the order of the real captures', () => {
    expect(GPU_QUERY_ARGV).toEqual([
      'nvidia-smi',
      '--query-gpu=index,uuid,name,pci.bus_id,driver_version,memory.total,memory.used,memory.free,utilization.gpu,utilization.memory,temperature.gpu,power.draw,power.limit,clocks.sm,pstate,ecc.errors.uncorrected.volatile.total',
      '--format=csv,noheader,nounits',
    ]);
    expect(APPS_QUERY_ARGV).toEqual(['nvidia-smi', '--query-compute-apps=pid,process_name,used_gpu_memory,gpu_uuid', '--format=csv,noheader,nounits']);
    // The header of the captured compute-apps output names the same order.
    expect(section(busy, 'query-compute-apps busy').split('\n')[0]).toBe('pid, process_name, used_gpu_memory [MiB], gpu_uuid');
  });
});

describe('parseGpuQuery on the real H100 captures', () => {
  it('reads the idle GPU (nvidia-smi-idle.txt, section "query-gpu csv noheader,nounits")', () => {
    expect(parseGpuQuery(section(idle, 'query-gpu csv noheader,nounits'))).toEqual([
      {
        ...H100,
        memoryUsedMiB: 0,
        memoryFreeMiB: 81079,
        utilizationGpuPct: 0,
        utilizationMemoryPct: 0,
        temperatureC: 53,
        powerDrawW: 112.4,
        powerLimitW: 700,
        smClockMHz: 345,
        pstate: 'P0',
        eccUncorrected: 0,
      },
    ]);
  });

  it('reads the busy GPU with 61967 MiB used (nvidia-smi-busy.txt, section "query-gpu busy noheader,nounits")', () => {
    expect(parseGpuQuery(section(busy, 'query-gpu busy noheader,nounits'))).toEqual([
      {
        ...H100,
        memoryUsedMiB: 61967,
        memoryFreeMiB: 19113,
        utilizationGpuPct: 4,
        utilizationMemoryPct: 0,
        temperatureC: 54,
        powerDrawW: 89.7,
        powerLimitW: 700,
        smClockMHz: 1980,
        pstate: 'P0',
        eccUncorrected: 0,
      },
    ]);
  });

  it('reads the variant with header and units by position, though the header says clocks.current.sm (section "query-gpu csv header")', () => {
    const text = section(idle, 'query-gpu csv header');
    expect(text.split('\n')[0]).toContain('clocks.current.sm [MHz]');
    expect(parseGpuQuery(text)).toEqual([
      expect.objectContaining({ ...H100, memoryFreeMiB: 81079, utilizationGpuPct: 0, powerDrawW: 114.85, powerLimitW: 700, smClockMHz: 345, pstate: 'P0' }),
    ]);
  });

  it.each([
    ['nvidia-smi-q-idle.xml', 'query-gpu csv noheader,nounits', idle],
    ['nvidia-smi-q-busy.xml', 'query-gpu busy noheader,nounits', busy],
  ])('agrees with %s on the identity and the memory total of the GPU', (xmlFile, heading, text) => {
    const xml = fixture(xmlFile);
    const [gpu] = parseGpuQuery(section(text, heading));
    expect(gpu?.uuid).toBe(xmlText(xml, 'uuid'));
    expect(gpu?.name).toBe(xmlText(xml, 'product_name'));
    expect(gpu?.driverVersion).toBe(xmlText(xml, 'driver_version'));
    expect(`${gpu?.memoryTotalMiB} MiB`).toBe(xmlText(xml, 'total', '<fb_memory_usage>'));
  });
});

describe('parseComputeApps on the real H100 captures', () => {
  it('finds the 60 GiB python3 process, pid 431, holding 61958 MiB (nvidia-smi-busy.txt, section "query-compute-apps busy noheader,nounits")', () => {
    const processes = parseComputeApps(section(busy, 'query-compute-apps busy noheader,nounits'));
    expect(processes).toEqual([{ pid: 431, name: 'python3', gpuUuid: UUID, usedMiB: 61958 }]);
    expect(processes[0]?.usedMiB).toBeGreaterThanOrEqual(60 * 1024);
  });

  it('reads the header-and-units variant the same (section "query-compute-apps busy")', () => {
    expect(parseComputeApps(section(busy, 'query-compute-apps busy'))).toEqual([{ pid: 431, name: 'python3', gpuUuid: UUID, usedMiB: 61958 }]);
  });

  it('agrees with the busy `nvidia-smi -q -x` on the process and its memory', () => {
    const xml = fixture('nvidia-smi-q-busy.xml');
    const [p] = parseComputeApps(section(busy, 'query-compute-apps busy noheader,nounits'));
    expect(String(p?.pid)).toBe(xmlText(xml, 'pid', '<process_info>'));
    expect(`${p?.usedMiB} MiB`).toBe(xmlText(xml, 'used_memory', '<process_info>'));
  });

  it('finds no process in the idle capture, whose output is the header only (section "query-compute-apps idle")', () => {
    const text = section(idle, 'query-compute-apps idle');
    expect(text.trim()).toBe('pid, process_name, used_gpu_memory [MiB], gpu_uuid');
    expect(parseComputeApps(text)).toEqual([]);
    expect(fixture('nvidia-smi-q-idle.xml')).not.toContain('<process_info>');
  });

  it('reads the two processes listed after the CUDA OOM (cuda-oom.txt, the lines after "elapsed_s=", without a uuid column)', () => {
    const text = fixture('cuda-oom.txt');
    const apps = text.slice(text.indexOf('\n', text.indexOf('elapsed_s=')) + 1);
    expect(parseComputeApps(apps)).toEqual([
      { pid: 431, name: 'python3', gpuUuid: null, usedMiB: 61958 },
      { pid: 496, name: 'python3', gpuUuid: null, usedMiB: 518 },
    ]);
  });
});

describe('the CSV reading on the time-series captures', () => {
  it.each([
    ['series-oom-ramp.csv', 80399, 681],
    ['series-busy.csv', 1139, 79941],
  ])('reads %s by position: the header skipped, eleven cells a row, the peak memory used and the least free', (file, peakUsed, leastFree) => {
    const rows = csvRows(fixture(file));
    expect(rows.length).toBe(fixture(file).trim().split('\n').length - 1);
    expect(rows.every((r) => r.cells.length === 11)).toBe(true);
    expect(Math.max(...rows.map((r) => parseNvidiaNumber(r.cells[3] ?? '') ?? -1))).toBe(peakUsed);
    expect(Math.min(...rows.map((r) => parseNvidiaNumber(r.cells[4] ?? '') ?? Infinity))).toBe(leastFree);
  });

  it('sees the busy series at 100 % utilisation and up to the 700 W power limit', () => {
    const rows = csvRows(fixture('series-busy.csv'));
    expect(Math.max(...rows.map((r) => parseNvidiaNumber(r.cells[5] ?? '') ?? -1))).toBe(100);
    const peakPower = Math.max(...rows.map((r) => parseNvidiaNumber(r.cells[8] ?? '') ?? -1));
    expect(peakPower).toBeGreaterThan(645);
    expect(peakPower).toBeLessThan(710);
  });
});

describe('parseGpuQuery and parseComputeApps on edge cases', () => {
  const row = (name: string, rest = '81559, 0, 81079, 0, 0, 53, [N/A], 700.00, 345, P0, [Not Supported]'): string =>
    `0, ${UUID}, ${name}, 00000000:00:06.0, 580.159.04, ${rest}`;

  it('turns [N/A] and [Not Supported] into null', () => {
    expect(parseGpuQuery(row('NVIDIA H100 80GB HBM3'))[0]).toMatchObject({ powerDrawW: null, eccUncorrected: null, powerLimitW: 700 });
  });

  it('keeps a name that holds a comma whole', () => {
    expect(parseGpuQuery(row('Odd, GPU'))[0]).toMatchObject({ name: 'Odd, GPU', pciBusId: '00000000:00:06.0', memoryTotalMiB: 81559 });
    expect(parseComputeApps(`7, my,proc, 12, ${UUID}`)).toEqual([{ pid: 7, name: 'my,proc', gpuUuid: UUID, usedMiB: 12 }]);
  });

  it('reads several GPUs, without spaces after the commas and with CRLF line ends', () => {
    const text = [row('A'), row('B').replace(/^0/, '1')].join('\r\n').replace(/, /g, ',');
    expect(parseGpuQuery(text).map((g) => [g.index, g.name])).toEqual([[0, 'A'], [1, 'B']]);
  });

  it.each(['', '\n', 'No running processes found\n'])('finds no process in %j', (text) => {
    expect(parseComputeApps(text)).toEqual([]);
  });

  it.each([
    ['a row that is too short', () => parseGpuQuery('0, GPU-x, name'), /line 1: 3 columns, expected 16/],
    ['a non-numeric index', () => parseGpuQuery(`index, uuid [x]\n${row('A').replace(/^0/, 'zero')}`), /line 2: GPU index "zero"/],
    ['a row of two cells', () => parseComputeApps('431, python3\n'), /line 1: 2 columns/],
    [
      'the driver failure message',
      () => parseGpuQuery("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n"),
      /line 1: 1 columns, expected 16/,
    ],
    ['a non-numeric pid', () => parseComputeApps(`1, a, 2, ${UUID}\npid?, python3, 1, ${UUID}`), /line 2: pid "pid\?"/],
  ])('refuses %s with an error naming the line', (_what, parse, message) => {
    expect(parse).toThrow(NvidiaSmiParseError);
    expect(parse).toThrow(message);
  });
});
