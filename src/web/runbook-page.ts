/** GET /runbooks/{name}: one loaded runbook, its state in the store, its definition, recent runs and escalations. */

import type { Runbook } from '../core/runbook.js';
import type { RunSummary } from '../core/run.js';
import type { BreakerState, Escalation } from '../history/run-store.js';
import { html, link, sitePath, type SafeHtml } from './html.js';
import { facts, when } from './page-layout.js';
import { runbookDefinition } from './runbook-definition.js';
import { runTable } from './run-list-page.js';
import { breakerText } from './runbooks-page.js';

/** What the store says about the runbook. */
export interface RunbookActivity {
  readonly paused: boolean;
  readonly breaker: BreakerState | undefined;
  readonly runs: readonly RunSummary[];
  readonly moreRuns: boolean;
  readonly escalations: readonly Escalation[];
}

function escalationRow(e: Escalation): SafeHtml {
  const posted = e.postedAt ? when(e.postedAt) : html`<span class="muted">not yet (${e.attempts} attempts)</span>`;
  return html`<tr><td>${when(e.createdAt)}</td><td>${e.reason}</td><td>${e.target ?? ''}</td>
<td>${e.runId === null ? '' : link(sitePath(['runs', e.runId]), e.runId)}</td><td>${e.alert.labels.alertname ?? ''}</td><td>${posted}</td><td>${e.lastError ?? ''}</td></tr>`;
}

/** The runbook page's body. */
export function runbookPage(rb: Runbook, activity: RunbookActivity): SafeHtml {
  const escalations =
    activity.escalations.length === 0
      ? html`<p class="muted">None.</p>`
      : html`<table><thead><tr><th>created</th><th>reason</th><th>target</th><th>run</th><th>alertname</th><th>posted</th><th>last error</th></tr></thead>
<tbody>${activity.escalations.map(escalationRow)}</tbody></table>`;
  const more = activity.moreRuns ? html`<p>${link(sitePath(['runs'], { runbook: rb.name }), 'All runs of this runbook →')}</p>` : '';
  return html`<p>${rb.description}</p>${facts([
    ['fault class', rb.faultClass],
    ['mode', rb.mode],
    ['file', html`<code>${rb.file}</code>`],
    ['hash', html`<code>${rb.hash}</code>`],
    ['paused', activity.paused ? html`<span class="state s-failed">paused</span>` : 'no'],
    ['fleet breaker', breakerText(activity.breaker)],
  ])}
${runbookDefinition(rb)}
<h2>Recent runs</h2>${runTable(activity.runs)}${more}
<h2>Recent escalations</h2>${escalations}`;
}
