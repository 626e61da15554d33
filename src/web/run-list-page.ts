/** GET /runs: one page of run summaries, newest first, with the API's filters. */

import { RUN_STATES, type RunSummary } from '../core/run.js';
import type { PageOf } from '../history/run-store.js';
import { html, link, sitePath, type SafeHtml } from './html.js';
import { filterForm, olderLink, type FilterField } from './list-controls.js';
import type { FieldValues } from './list-query.js';
import { durationBetween, stateBadge, when } from './page-layout.js';

const FIELDS: readonly FilterField[] = [
  { name: 'state', label: 'state', options: RUN_STATES },
  { name: 'runbook', label: 'runbook' },
  { name: 'faultClass', label: 'fault class' },
  { name: 'target', label: 'target' },
  { name: 'alertname', label: 'alertname' },
  { name: 'fingerprint', label: 'fingerprint' },
  { name: 'since', label: 'since', placeholder: '2026-01-01T00:00:00Z' },
  { name: 'until', label: 'until', placeholder: 'RFC 3339' },
];

function row(run: RunSummary): SafeHtml {
  return html`<tr>
<td>${link(sitePath(['runs', run.id]), when(run.createdAt))}</td>
<td>${stateBadge(run.state, run.reason)}${run.mode === 'shadow' ? html` <span class="muted">shadow</span>` : ''}</td>
<td>${link(sitePath(['runbooks', run.runbook]), run.runbook)}</td>
<td>${run.faultClass}</td>
<td>${run.target}</td>
<td>${run.alertname}</td>
<td>${when(run.startedAt)}<br>${when(run.endedAt)}</td>
<td>${durationBetween(run.startedAt, run.endedAt)}</td>
</tr>`;
}

/** A table of run summaries, each linking to its run. */
export function runTable(runs: readonly RunSummary[]): SafeHtml {
  if (runs.length === 0) return html`<p class="muted">No runs match.</p>`;
  return html`<table class="runs"><thead><tr><th>created</th><th>state</th><th>runbook</th><th>fault class</th><th>target</th><th>alertname</th>
<th>started / ended</th><th>duration</th></tr></thead><tbody>${runs.map(row)}</tbody></table>`;
}

/** The run list's body. */
export function runListPage(page: PageOf<RunSummary>, values: FieldValues, globalPaused: boolean): SafeHtml {
  const banner = globalPaused ? html`<p class="warn">The global kill switch is on: no run starts until <code>POST /api/v1/resume</code>.</p>` : '';
  return html`${banner}${filterForm('runs', FIELDS, values)}${runTable(page.items)}${olderLink('runs', values, page.nextCursor)}`;
}
