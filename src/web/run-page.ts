/** GET /runs/{id}: a run in full (SPEC §8), with cancel and approve forms while it is active. */

import { formatDuration } from '../core/duration.js';
import { ACTIVE_STATES, type RunDetail, type TierRecord } from '../core/run.js';
import type { PlannedTier } from '../core/runbook.js';
import type { VerificationRecord, VerifyRecord } from '../core/verification.js';
import type { FormAction } from './form-guard.js';
import { externalHref, html, link, sitePath, type HtmlValue, type SafeHtml } from './html.js';
import { durationBetween, facts, jsonBlock, mapTable, stateBadge, when } from './page-layout.js';
import { runTimeline } from './run-timeline.js';
import { stepView } from './step-view.js';

/** What the run page needs besides the run. */
export interface RunPageContext {
  /** The hash of the runbook loaded now under the run's name, or null when none is loaded. */
  readonly currentHash: string | null;
  readonly publicURL: string;
  readonly token: (action: FormAction, runId: string) => string;
  /** Epoch ms: the right end of an active run's timeline. */
  readonly now: number;
}

/** A step or tier that never started: `pending` while the run may get there, else what it is now. */
function shownState(run: RunDetail, state: string): string {
  if (state !== 'pending') return state;
  if (run.state === 'shadow') return 'would run';
  return ACTIVE_STATES.includes(run.state) ? state : 'not run';
}

function verifyView(record: VerificationRecord | null, planned: PlannedTier | undefined): HtmlValue {
  const v: Partial<VerifyRecord> | null = record;
  if (v === null || typeof v !== 'object') {
    const def = planned?.verify;
    if (!def) return html`<p class="muted">No verification: the tier succeeds when its steps do.</p>`;
    const what = def.kind === 'promql' ? html`<code>${def.query}</code>` : 'the alert resolved';
    return html`<p>Verify: ${what}, every ${formatDuration(def.everyMs)} within ${formatDuration(def.withinMs)}, stable for ${formatDuration(def.stableForMs)} (not started).</p>`;
  }
  const last = v.lastResult as { text?: unknown; error?: unknown; at?: unknown; series?: unknown } | null | undefined;
  const lastText = last ? (typeof last.error === 'string' ? `error: ${last.error}` : String(last.text ?? '')) : null;
  return html`<h4>verification</h4>${facts([
    ['kind', String(v.kind ?? '')],
    ['query', typeof v.query === 'string' ? html`<code>${v.query}</code>` : null],
    ['outcome', String(v.outcome ?? '')],
    ['checks', `${Number(v.checks ?? 0)} (${Number(v.errors ?? 0)} failed)`],
    ['error', typeof v.error === 'string' ? v.error : undefined],
    ['holding since', v.holdingSince ? when(v.holdingSince) : undefined],
    ['seen firing', v.seenFiringAt ? when(v.seenFiringAt) : undefined],
    ['started', when(v.startedAt)],
    ['ended', when(v.endedAt)],
  ])}${lastText !== null ? html`<h5>last result${typeof last?.at === 'string' ? ` at ${last.at}` : ''}</h5><pre>${lastText}</pre>` : ''}
<details><summary>record</summary>${jsonBlock(record)}</details>`;
}

function tierView(run: RunDetail, tier: TierRecord, index: number): SafeHtml {
  const planned = run.plan.tiers[index];
  const approval = planned?.approvalTimeoutMs ? html` <span class="muted">approval required (timeout ${formatDuration(planned.approvalTimeoutMs)})</span>` : '';
  const steps = tier.steps.map((s) => stepView(s, (s.phase === 'onFailure' ? planned?.onFailure : planned?.steps)?.find((p) => p.name === s.name), shownState(run, s.state)));
  const verified = run.state === 'shadow' ? '' : tier.verified ? ' · verified' : ' · not verified';
  return html`<section class="tier"><h3>Tier ${index + 1}: ${tier.name} · ${stateBadge(shownState(run, tier.state))}${verified}${approval}</h3>
${facts([['started', when(tier.startedAt)], ['ended', when(tier.endedAt)], ['took', durationBetween(tier.startedAt, tier.endedAt)]])}
${steps}${verifyView(tier.verify, planned)}</section>`;
}

function alertView(run: RunDetail): SafeHtml {
  const a = run.alert;
  const generator = externalHref(a.generatorURL);
  return html`<h2>Alert</h2>${facts([
    ['status', a.status],
    ['fingerprint', html`<code>${a.fingerprint}</code>`],
    ['startsAt', a.startsAt],
    ['endsAt', a.endsAt],
    ['generatorURL', generator ? link(generator, a.generatorURL) : html`<code>${a.generatorURL}</code>`],
    ['deliveries', String(run.deliveries)],
  ])}<h3>Labels</h3>${mapTable(a.labels)}<h3>Annotations</h3>${mapTable(a.annotations)}`;
}

function actionForm(run: RunDetail, action: FormAction, ctx: RunPageContext, extra: HtmlValue): SafeHtml {
  return html`<form method="post" action="${sitePath(['runs', run.id, action])}" class="action">
<input type="hidden" name="token" value="${ctx.token(action, run.id)}">${extra}<button type="submit">${action === 'cancel' ? 'Cancel run' : 'Approve'}</button></form>`;
}

function actionsView(run: RunDetail, ctx: RunPageContext): HtmlValue {
  if (!ACTIVE_STATES.includes(run.state)) return null;
  const api = `${ctx.publicURL.replace(/\/+$/, '')}/api/v1/runs/${encodeURIComponent(run.id)}`;
  const approve = run.state === 'awaiting_approval';
  const note = html`<label>note (recorded after your sign-in name) <input type="text" name="note" maxlength="128" size="24"></label> `;
  const json = `-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json'`;
  const curl = [`curl -X POST ${json} ${api}/cancel`];
  if (approve) curl.push(`curl -X POST ${json} -d '{"note":"why"}' ${api}/approve`);
  return html`<h2>Actions</h2><p class="muted">These need the operate role.</p>
${approve ? actionForm(run, 'approve', ctx, note) : ''}${actionForm(run, 'cancel', ctx, '')}
<p class="muted">Or with the API:</p><pre>${curl.join('\n')}</pre>`;
}

function headerView(run: RunDetail, ctx: RunPageContext): SafeHtml {
  const hashNote =
    ctx.currentHash === null ? ' (no runbook of this name is loaded now)' : ctx.currentHash === run.runbookHash ? ' (as loaded now)' : ' (the loaded runbook has changed since)';
  return facts([
    ['state', stateBadge(run.state, run.reason)],
    ['runbook', html`${link(sitePath(['runbooks', run.runbook]), run.runbook)} <code>${run.runbookHash}</code><span class="muted">${hashNote}</span>`],
    ['fault class', run.faultClass],
    ['target', run.target],
    ['pool', run.pool],
    ['mode', run.mode],
    ['created', when(run.createdAt)],
    ['not before', run.notBefore && run.notBefore !== run.createdAt ? when(run.notBefore) : undefined],
    ['started', when(run.startedAt)],
    ['ended', when(run.endedAt)],
    ['took', durationBetween(run.startedAt, run.endedAt)],
    ['cancel requested', run.cancelRequested ?? undefined],
    ['approved by', run.approvedBy ?? undefined],
    ['approved at', run.approvedAt ? when(run.approvedAt) : undefined],
    ['approval deadline', run.approvalDeadline ? when(run.approvalDeadline) : undefined],
    ['waits at tier', typeof run.approvalTier === 'number' && run.state === 'awaiting_approval' ? String(run.approvalTier + 1) : undefined],
  ]);
}

/** The run page's body. */
export function runPage(run: RunDetail, ctx: RunPageContext): SafeHtml {
  const tiers = run.tiers.map((t, i) => tierView(run, t, i));
  return html`${headerView(run, ctx)}${actionsView(run, ctx)}<h2>Timeline</h2>${runTimeline(run, ctx.now)}${alertView(run)}<h2>Params</h2>${mapTable(run.params)}
<h2>Tiers</h2>${tiers.length > 0 ? tiers : html`<p class="muted">No tiers.</p>`}
<h2>Reporting</h2>${facts([['silence', run.silenceId]])}<h3>Grafana annotations</h3>${jsonBlock(run.annotations)}<h3>Escalation</h3>${jsonBlock(run.escalation)}`;
}
