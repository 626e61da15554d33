/** GET /decisions: every (alert, runbook-or-none) decision, newest first, with the API's filters. */

import { GUARD_REASONS, type Decision } from '../core/run.js';
import type { PageOf } from '../history/run-store.js';
import { html, link, sitePath, type SafeHtml } from './html.js';
import { filterForm, olderLink, type FilterField } from './list-controls.js';
import type { FieldValues } from './list-query.js';
import { when } from './page-layout.js';

const FIELDS: readonly FilterField[] = [
  { name: 'decision', label: 'decision', options: ['run', 'skip'] },
  { name: 'reason', label: 'reason', options: GUARD_REASONS },
  { name: 'runbook', label: 'runbook' },
  { name: 'alertname', label: 'alertname' },
  { name: 'fingerprint', label: 'fingerprint' },
  { name: 'since', label: 'since', placeholder: '2026-01-01T00:00:00Z' },
  { name: 'until', label: 'until', placeholder: 'RFC 3339' },
];

function row(d: Decision): SafeHtml {
  return html`<tr>
<td>${when(d.receivedAt)}</td>
<td>${d.alertname}</td>
<td><code>${d.fingerprint}</code><br><span class="muted">${d.startsAt}</span></td>
<td>${d.status}</td>
<td>${d.runbook === null ? html`<span class="muted">none</span>` : link(sitePath(['runbooks', d.runbook]), d.runbook)}</td>
<td>${d.decision}</td>
<td>${d.reason ?? ''}</td>
<td>${d.runId === null ? '' : link(sitePath(['runs', d.runId]), d.runId)}</td>
<td>${d.deliveries}</td>
</tr>`;
}

/** The decision list's body. */
export function decisionsPage(page: PageOf<Decision>, values: FieldValues): SafeHtml {
  const table =
    page.items.length === 0
      ? html`<p class="muted">No decisions match.</p>`
      : html`<table><thead><tr><th>received</th><th>alertname</th><th>fingerprint / startsAt</th><th>status</th><th>runbook</th>
<th>decision</th><th>reason</th><th>run</th><th>deliveries</th></tr></thead><tbody>${page.items.map(row)}</tbody></table>`;
  return html`${filterForm('decisions', FIELDS, values)}${table}${olderLink('decisions', values, page.nextCursor)}`;
}
