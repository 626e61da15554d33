/** A host's dcgm-exporter: /metrics on ip:dcgmPort with dcgm-exporter's names, help texts and labels. */
import http from 'node:http';
import type { GpuView } from './api-types.js';
import { createRouter, sendText } from './http-kit.js';

/** One gauge family of default-counters.csv: its name, help text and how to read it off a GPU. */
interface Family {
  readonly name: string;
  readonly help: string;
  readonly value: (g: GpuView) => number;
}

const FAMILIES: readonly Family[] = [
  { name: 'DCGM_FI_DEV_SM_CLOCK', help: 'SM clock frequency (in MHz).', value: (g) => g.smClockMHz },
  { name: 'DCGM_FI_DEV_MEM_CLOCK', help: 'Memory clock frequency (in MHz).', value: (g) => g.memClockMHz },
  { name: 'DCGM_FI_DEV_GPU_TEMP', help: 'GPU temperature (in C).', value: (g) => g.temperatureC },
  { name: 'DCGM_FI_DEV_POWER_USAGE', help: 'Power draw (in W).', value: (g) => g.powerDrawW },
  { name: 'DCGM_FI_DEV_GPU_UTIL', help: 'GPU utilization (in %).', value: (g) => g.utilizationGpuPct },
  { name: 'DCGM_FI_DEV_MEM_COPY_UTIL', help: 'Memory utilization (in %).', value: (g) => g.utilizationMemoryPct },
  { name: 'DCGM_FI_DEV_FB_FREE', help: 'Framebuffer memory free (in MiB).', value: (g) => g.memoryFreeMiB },
  { name: 'DCGM_FI_DEV_FB_USED', help: 'Framebuffer memory used (in MiB).', value: (g) => g.memoryUsedMiB },
  { name: 'DCGM_FI_DEV_FB_RESERVED', help: 'Framebuffer memory reserved (in MiB).', value: (g) => g.memoryReservedMiB },
  { name: 'DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS', help: 'Number of remapped rows for uncorrectable errors', value: (g) => g.ecc.remappedRowsUncorrectable },
];

const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function labels(pairs: Record<string, string>): string {
  return `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${escape(v)}"`)
    .join(',')}}`;
}

/** The labels dcgm-exporter 4.x puts on every GPU series (Hostname spelt as released versions spell it). */
function gpuLabels(g: GpuView, hostName: string): Record<string, string> {
  return { gpu: String(g.index), UUID: g.uuid, pci_bus_id: g.pciBusId, device: `nvidia${g.index}`, modelName: g.name, Hostname: hostName, DCGM_FI_DRIVER_VERSION: g.driverVersion };
}

/** The exposition text for a host's GPUs; `xidWindowMs` is --xid-count-window-size. */
export function dcgmMetricsText(gpus: readonly GpuView[], hostName: string, xidWindowMs: number, now = Date.now()): string {
  const out: string[] = [];
  for (const f of FAMILIES) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} gauge`);
    for (const g of gpus) out.push(`${f.name}${labels(gpuLabels(g, hostName))} ${f.value(g)}`);
  }
  out.push('# HELP DCGM_FI_DEV_XID_ERRORS Value of the last XID error encountered.', '# TYPE DCGM_FI_DEV_XID_ERRORS gauge');
  for (const g of gpus) out.push(`DCGM_FI_DEV_XID_ERRORS${labels({ ...gpuLabels(g, hostName), err_code: String(g.xid), err_msg: g.xidMessage })} ${g.xid}`);
  out.push('# HELP DCGM_EXP_XID_ERRORS_COUNT Count of XID Errors within user-specified time window (see xid-count-window-size param).', '# TYPE DCGM_EXP_XID_ERRORS_COUNT gauge');
  for (const g of gpus) {
    const counts = new Map<number, number>();
    for (const x of g.xidHistory) if (Date.parse(x.at) >= now - xidWindowMs) counts.set(x.code, (counts.get(x.code) ?? 0) + 1);
    for (const [code, n] of counts) out.push(`DCGM_EXP_XID_ERRORS_COUNT${labels({ ...gpuLabels(g, hostName), xid: String(code) })} ${n}`);
  }
  return `${out.join('\n')}\n`;
}

/** A listener for one host's exporter. */
export function createDcgmServer(hostName: string, gpus: () => GpuView[], xidWindowMs: number): http.Server {
  return http.createServer(
    createRouter([{ method: 'GET', pattern: /^\/metrics$/, handler: (_req, res) => sendText(res, 200, dcgmMetricsText(gpus(), hostName, xidWindowMs), 'text/plain; version=0.0.4; charset=utf-8') }]),
  );
}
