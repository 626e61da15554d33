/** A compiled runbook shown as its author wrote it: matchers, params, safety values, tiers and steps, templates as source. */

import { formatDuration } from '../core/duration.js';
import type { HeaderValue, Runbook, StepDef, Template, TierDef } from '../core/runbook.js';
import { html, type HtmlValue, type SafeHtml } from './html.js';
import { facts } from './page-layout.js';

const dur = (ms: number): string => formatDuration(ms);
const src = (t: Template | null | undefined): HtmlValue => (t ? html`<code>${t.source}</code>` : null);

function headerSource(value: HeaderValue<Template>): HtmlValue {
  if ('file' in value) return html`from file <code>${value.file}</code>${value.prefix ? html` with prefix <code>${value.prefix}</code>` : ''}`;
  return src(value);
}

function commandOf(step: StepDef): HtmlValue {
  if (step.program !== undefined) return html`<code>${step.program}</code>${(step.args ?? []).map((a) => html` <code>${a.source}</code>`)}`;
  if (step.http) {
    const headers = Object.entries(step.http.headers).map(([k, v]) => html`<br>${k}: ${headerSource(v)}`);
    const body = step.http.body ? html`<br>body ${src(step.http.body)}` : '';
    const expect = step.http.expectStatus ? html`<br>expect ${step.http.expectStatus.join(', ')}` : '';
    return html`<code>${step.http.method}</code> ${src(step.http.url)}${headers}${body}${expect}`;
  }
  if (step.promql) return html`promql ${src(step.promql)}`;
  if (step.waitMs !== undefined) return `wait ${dur(step.waitMs)}`;
  if (step.capture !== undefined) return `capture ${step.capture}`;
  if (step.script !== undefined) return html`<pre class="script">${step.script}</pre>`;
  return null;
}

function stepRow(step: StepDef): SafeHtml {
  const ssh = step.ssh ? html`ssh ${step.ssh.host ? src(step.ssh.host) : 'target'}${step.ssh.user ? ` as ${step.ssh.user}` : ''}${step.ssh.port ? ` port ${step.ssh.port}` : ''}` : 'local';
  const options = [
    `timeout ${dur(step.timeoutMs)}`,
    step.until ? `until every ${dur(step.until.everyMs)} within ${dur(step.until.withinMs)}` : '',
    step.continueOnError ? 'continueOnError' : '',
    step.idempotent ? 'idempotent' : '',
  ].filter((o) => o !== '');
  return html`<tr><td>${step.name}</td><td>${step.kind}</td><td>${commandOf(step)}</td><td>${step.kind === 'http' || step.kind === 'promql' || step.kind === 'wait' ? '' : ssh}</td><td>${options.join(', ')}</td></tr>`;
}

function stepTable(steps: readonly StepDef[]): SafeHtml {
  return html`<table><thead><tr><th>step</th><th>kind</th><th>what</th><th>where</th><th>options</th></tr></thead><tbody>${steps.map(stepRow)}</tbody></table>`;
}

function tierView(tier: TierDef, index: number): SafeHtml {
  const v = tier.verify;
  const verify = v
    ? html`${v.kind === 'promql' ? html`promql ${src(v.query)}` : 'alert resolved'}, every ${dur(v.everyMs)} within ${dur(v.withinMs)}, stable for ${dur(v.stableForMs)}`
    : html`<span class="muted">none (succeeds when its steps do)</span>`;
  const approval = tier.approvalTimeoutMs !== null ? html`<p>Approval required; times out after ${dur(tier.approvalTimeoutMs)}.</p>` : '';
  const onFailure = tier.onFailure.length > 0 ? html`<h4>onFailure</h4>${stepTable(tier.onFailure)}` : '';
  return html`<section class="tier"><h3>Tier ${index + 1}: ${tier.name}</h3>${approval}${stepTable(tier.steps)}<p>Verify: ${verify}</p>${onFailure}</section>`;
}

/** The definition part of the runbook page. */
export function runbookDefinition(rb: Runbook): SafeHtml {
  const s = rb.safety;
  const matchers = rb.matchers.map((m) => html`<li><code>${m.name} ${m.op} ${JSON.stringify(m.value)}</code></li>`);
  const params = rb.params.map(
    (p) => html`<tr><td>${p.name}</td><td><code>${p.source}.${p.key}</code></td><td><code>${p.pattern.source}</code></td>
<td>${p.transform ?? ''}</td><td>${p.optional ? 'yes' : 'no'}</td><td>${p.allowLeadingDash ? 'yes' : 'no'}</td></tr>`,
  );
  return html`<h2>Matchers</h2><ul>${matchers}</ul>
<h2>Params</h2>${params.length > 0 ? html`<table><thead><tr><th>name</th><th>from</th><th>pattern</th><th>transform</th><th>optional</th><th>leading dash</th></tr></thead><tbody>${params}</tbody></table>` : html`<p class="muted">none</p>`}
<h2>Target and safety</h2>${facts([
    ['target', src(rb.target)],
    ['pool', rb.pool ? src(rb.pool) : null],
    ['cancelOnResolve', rb.cancelOnResolve ? 'yes' : 'no'],
    ['cooldown', dur(s.cooldownMs)],
    ['maxAttempts', `${s.maxAttempts.count} per ${dur(s.maxAttempts.perMs)}`],
    ['maxPendingAge', dur(s.maxPendingAgeMs)],
    ['maxConcurrentPerPool', String(s.maxConcurrentPerPool)],
    ['fleetBreaker', `${s.fleetBreaker.maxTargets} targets per ${dur(s.fleetBreaker.perMs)}`],
    ['waitFor', dur(s.waitForMs)],
    ['precheck', s.precheck ? src(s.precheck) : null],
    ['silence', s.silence ? 'yes' : 'no'],
  ])}
<h2>Tiers</h2>${rb.tiers.map(tierView)}`;
}
