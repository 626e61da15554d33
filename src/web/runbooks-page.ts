/** GET /runbooks: the loaded runbooks, their pause and breaker state, and how the last reload went. */

import type { ReloadStatus } from '../catalog-holder.js';
import type { Runbook } from '../core/runbook.js';
import type { BreakerState } from '../history/run-store.js';
import { html, link, sitePath, type SafeHtml } from './html.js';
import { when } from './page-layout.js';

/** The store's view of the runbooks: which are paused, whose breakers are open, and the kill switch. */
export interface RunbookControls {
  readonly paused: ReadonlySet<string>;
  readonly breakers: ReadonlyMap<string, BreakerState>;
  readonly globalPaused: boolean;
}

/** The breaker of one runbook, in words. */
export function breakerText(state: BreakerState | undefined): SafeHtml {
  if (state === undefined) return html`closed`;
  return html`<span class="state s-failed">open</span> since ${when(new Date(state.openedAt).toISOString())}`;
}

/** How the last reload went. */
export function reloadView(status: ReloadStatus): SafeHtml {
  const outcome = status.success ? html`<span class="state s-succeeded">succeeded</span>` : html`<span class="state s-failed">failed</span>`;
  return html`<p>Last reload ${when(status.at)}: ${outcome}</p>${status.error ? html`<pre class="reload-error">${status.error}</pre>` : ''}`;
}

function row(rb: Runbook, controls: RunbookControls): SafeHtml {
  return html`<tr><td>${link(sitePath(['runbooks', rb.name]), rb.name)}</td><td>${rb.faultClass}</td><td>${rb.mode}</td>
<td><code>${rb.file}</code></td><td><code>${rb.hash.slice(0, 12)}</code></td><td>${controls.paused.has(rb.name) ? html`<span class="state s-failed">paused</span>` : 'no'}</td>
<td>${breakerText(controls.breakers.get(rb.name))}</td><td>${rb.description}</td></tr>`;
}

/** The runbook list's body. */
export function runbooksPage(runbooks: readonly Runbook[], controls: RunbookControls, reload: ReloadStatus): SafeHtml {
  const banner = controls.globalPaused ? html`<p class="warn">The global kill switch is on: no run starts.</p>` : '';
  const table =
    runbooks.length === 0
      ? html`<p class="muted">No runbooks are loaded.</p>`
      : html`<table><thead><tr><th>name</th><th>fault class</th><th>mode</th><th>file</th><th>hash</th><th>paused</th><th>breaker</th><th>description</th></tr></thead>
<tbody>${runbooks.map((rb) => row(rb, controls))}</tbody></table>`;
  return html`${banner}${reloadView(reload)}${table}`;
}
