/** `nvidia-smi -q -x`: the real H100 capture (nvidia-smi-q.xml here, a copy of shared/fixtures/gpu/nvidia-smi-q-idle.xml) with this GPU's values. */
import fs from 'node:fs';
import type { GpuView } from '../fleet/api-types.js';
import { ctime } from './time-format.js';

/** Replaces the text of the first `<child>` inside the first `<parent>` (or anywhere when parent is null). */
function setIn(xml: string, parent: string | null, child: string, value: string): string {
  const start = parent === null ? 0 : xml.indexOf(`<${parent}>`);
  const end = parent === null ? xml.length : xml.indexOf(`</${parent}>`, start);
  if (start < 0 || end < 0) throw new Error(`nvidia-smi-q.xml has no <${parent}>`);
  const scope = xml.slice(start, end).replace(new RegExp(`<${child}>[^<]*</${child}>`), `<${child}>${value}</${child}>`);
  return xml.slice(0, start) + scope + xml.slice(end);
}

function processesXml(g: GpuView): string {
  if (g.processes.length === 0) return '\t\t<processes>\n\t\t</processes>';
  const one = (p: GpuView['processes'][number]): string =>
    ['\t\t\t<process_info>', '\t\t\t\t<gpu_instance_id>N/A</gpu_instance_id>', '\t\t\t\t<compute_instance_id>N/A</compute_instance_id>', `\t\t\t\t<pid>${p.pid}</pid>`, '\t\t\t\t<type>C</type>', `\t\t\t\t<process_name>${p.name}</process_name>`, `\t\t\t\t<used_memory>${p.usedMiB} MiB</used_memory>`, '\t\t\t</process_info>'].join('\n');
  return `\t\t<processes>\n${g.processes.map(one).join('\n')}\n\t\t</processes>`;
}

function gpuXml(block: string, g: GpuView): string {
  const values: [string | null, string, string][] = [
    [null, 'uuid', g.uuid],
    [null, 'minor_number', String(g.index)],
    [null, 'gpu_recovery_action', g.resetRequired ? 'Reset' : 'None'],
    ['pci', 'pci_device', g.pciBusId.slice(12, 14)],
    ['pci', 'pci_bus_id', g.pciBusId],
    ['clocks_event_reasons', 'clocks_event_reason_gpu_idle', g.utilizationGpuPct > 0 ? 'Not Active' : 'Active'],
    ['fb_memory_usage', 'used', `${g.memoryUsedMiB} MiB`],
    ['fb_memory_usage', 'free', `${g.memoryFreeMiB} MiB`],
    ['bar1_memory_usage', 'used', `${g.memoryUsedMiB + 1} MiB`],
    ['bar1_memory_usage', 'free', `${131071 - g.memoryUsedMiB} MiB`],
    ['utilization', 'gpu_util', `${g.utilizationGpuPct} %`],
    ['utilization', 'memory_util', `${g.utilizationMemoryPct} %`],
    ['volatile', 'dram_uncorrectable', String(g.ecc.volatileDramUncorrectable)],
    ['aggregate', 'dram_uncorrectable', String(g.ecc.aggregateDramUncorrectable)],
    ['remapped_rows', 'remapped_row_unc', String(g.ecc.remappedRowsUncorrectable)],
    ['remapped_rows', 'remapped_row_pending', g.ecc.remapPending ? 'Yes' : 'No'],
    ['temperature', 'gpu_temp', `${g.temperatureC} C`],
    ['temperature', 'memory_temp', `${g.memoryTemperatureC} C`],
    ['gpu_power_readings', 'average_power_draw', `${g.powerDrawW.toFixed(2)} W`],
    ['gpu_power_readings', 'instant_power_draw', `${g.powerDrawW.toFixed(2)} W`],
    ['clocks', 'graphics_clock', `${g.smClockMHz} MHz`],
    ['clocks', 'sm_clock', `${g.smClockMHz} MHz`],
  ];
  let xml = block.replace(/<gpu id="[^"]*">/, `<gpu id="${g.pciBusId}">`);
  for (const [parent, child, value] of values) xml = setIn(xml, parent, child, value);
  return xml.replace(/\t\t<processes>[\s\S]*?<\/processes>/, processesXml(g));
}

/** The XML report; `templateFile` is the captured report used as the skeleton. */
export function queryXml(gpus: readonly GpuView[], attached: number, templateFile: string, now = new Date()): string {
  const template = fs.readFileSync(templateFile, 'utf8');
  const first = template.indexOf('\t<gpu id=');
  const last = template.indexOf('\t</gpu>') + '\t</gpu>\n'.length;
  const head = template.slice(0, first).replace(/<timestamp>[^<]*<\/timestamp>/, `<timestamp>${ctime(now)}</timestamp>`).replace(/<attached_gpus>\d+<\/attached_gpus>/, `<attached_gpus>${attached}</attached_gpus>`);
  const block = template.slice(first, last);
  return head + gpus.map((g) => gpuXml(block, g)).join('') + template.slice(last);
}
