/** A `capture: gpu` step's evidence as two small tables: the GPUs, and the processes holding their memory. */

import type { GpuEvidence } from '../execute/capture/capture-gpu.js';
import { html, type HtmlValue, type SafeHtml } from './html.js';

function isRecordArray(value: unknown): value is Record<string, unknown>[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'object' && v !== null);
}

/** true when the evidence has the shape a GPU capture keeps. */
export function isGpuEvidence(evidence: unknown): evidence is GpuEvidence {
  const e = evidence as { gpus?: unknown; processes?: unknown } | null;
  return typeof e === 'object' && e !== null && isRecordArray(e.gpus) && isRecordArray(e.processes);
}

/** A cell: numbers and strings as they are; anything else (null for [N/A]) as n/a. */
function cell(value: unknown, unit = ''): HtmlValue {
  if (typeof value === 'number' || typeof value === 'string') return `${value}${unit}`;
  return html`<span class="muted">n/a</span>`;
}

/** The two tables; the process table names each process's GPU by index where the uuid is known. */
export function gpuTable(evidence: GpuEvidence): SafeHtml {
  const gpus = evidence.gpus.map(
    (g) => html`<tr><td>${cell(g.index)}</td><td>${cell(g.name)}</td><td><code>${cell(g.uuid)}</code></td>
<td>${cell(g.memoryUsedMiB)} / ${cell(g.memoryTotalMiB, ' MiB')}</td><td>${cell(g.utilizationGpuPct, '%')}</td>
<td>${cell(g.temperatureC, ' °C')}</td><td>${cell(g.powerDrawW)} / ${cell(g.powerLimitW, ' W')}</td><td>${cell(g.pstate)}</td>
<td>${cell(g.eccUncorrected)}</td></tr>`,
  );
  const processes = evidence.processes.map((p) => {
    const gpu = evidence.gpus.find((g) => g.uuid === p.gpuUuid);
    return html`<tr><td>${cell(p.pid)}</td><td>${cell(p.name)}</td><td>${gpu ? `GPU ${gpu.index}` : cell(p.gpuUuid)}</td><td>${cell(p.usedMiB, ' MiB')}</td></tr>`;
  });
  return html`<table class="gpus"><thead><tr><th>GPU</th><th>name</th><th>uuid</th><th>memory used</th><th>util</th><th>temp</th>
<th>power</th><th>pstate</th><th>uncorrected ECC</th></tr></thead><tbody>${gpus.length > 0 ? gpus : html`<tr><td colspan="9" class="muted">no GPUs</td></tr>`}</tbody></table>
<table class="gpu-processes"><thead><tr><th>pid</th><th>process</th><th>GPU</th><th>memory</th></tr></thead>
<tbody>${processes.length > 0 ? processes : html`<tr><td colspan="4" class="muted">no compute processes</td></tr>`}</tbody></table>`;
}
