/** GET /: what an SRE looks at first, for a window: runs by fault class and outcome, recovery times, escalations, what is active, the busiest targets. */

import { ACTIVE_STATES, RUN_STATES, type RunState, type RunSummary } from '../core/run.js';
import { barChart, type BarRow } from './bar-chart.js';
import { html, link, sitePath, type Href, type SafeHtml } from './html.js';
import { durationText, stateBadge, when } from './page-layout.js';
import { runTable } from './run-list-page.js';
import { ESCALATION_DEFINITION, RECOVERY_DEFINITION, WINDOWS, type OverviewStats, type WindowName } from './overview-stats.js';

/** What the page shows besides the window's figures. */
export interface OverviewView {
  readonly window: WindowName;
  /** The window, RFC 3339: runs created at or after since and before until. */
  readonly since: string;
  readonly until: string;
  readonly stats: OverviewStats;
  /** true when the window held more runs than the overview reads. */
  readonly capped: boolean;
  readonly cap: number;
  /** Active runs now (whatever the window), newest first, and whether each state had more than were listed. */
  readonly active: readonly RunSummary[];
  readonly activeMore: ReadonlySet<RunState>;
}

function runsLink(v: OverviewView, filter: Readonly<Record<string, string | undefined>>): Href {
  return sitePath(['runs'], { ...filter, since: v.since, until: v.until });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function rate(escalated: number, ended: number): string {
  return ended === 0 ? '–' : `${((100 * escalated) / ended).toFixed(1)}%`;
}

function windowNav(v: OverviewView): SafeHtml {
  const links = (Object.keys(WINDOWS) as WindowName[]).map((w) =>
    w === v.window ? html`<a class="current" aria-current="page" href="${sitePath([], { window: w })}">${w}</a>` : link(sitePath([], { window: w }), w),
  );
  const capped = v.capped ? html`<p class="warn">The window holds more than ${String(v.cap)} runs: the figures cover the newest ${String(v.cap)}.</p>` : '';
  return html`<nav class="windows">Window: ${links}</nav><p class="muted" data-since="${v.since}" data-until="${v.until}">Runs created from ${when(v.since)} to ${when(v.until)}.</p>${capped}`;
}

function cards(v: OverviewView): SafeHtml {
  const s = v.stats;
  const succeeded = s.byClass.reduce((a, c) => a + c.byState.succeeded, 0);
  return html`<div class="cards">
<div class="card" data-total="${String(s.total)}"><div class="big">${link(runsLink(v, {}), String(s.total))}</div>runs in the window</div>
<div class="card" data-succeeded="${String(succeeded)}"><div class="big">${link(runsLink(v, { state: 'succeeded' }), String(succeeded))}</div>succeeded</div>
<div class="card" data-escalated="${String(s.escalated)}" data-ended="${String(s.ended)}"><div class="big">${rate(s.escalated, s.ended)}</div>escalated (${String(s.escalated)} of ${String(s.ended)} ended)</div>
<div class="card" data-active="${String(v.active.length)}"><div class="big">${String(v.active.length)}${v.activeMore.size > 0 ? '+' : ''}</div>active now</div>
</div>`;
}

function classSection(v: OverviewView): SafeHtml {
  const rows = v.stats.byClass;
  if (rows.length === 0) return html`<h2>Runs by fault class and outcome</h2><p class="muted">No runs in this window.</p>`;
  const states = RUN_STATES.filter((st) => rows.some((r) => r.byState[st] > 0));
  const chartRows: BarRow[] = rows.map((r) => ({
    label: r.faultClass,
    href: runsLink(v, { faultClass: r.faultClass }),
    text: `${plural(r.total, 'run')} · ${rate(r.escalated, r.ended)} escalated`,
    parts: states.map((st) => ({ value: r.byState[st], cls: `s-${st}`, title: `${r.faultClass}: ${r.byState[st]} ${st}`, href: runsLink(v, { faultClass: r.faultClass, state: st }) })),
  }));
  const head = states.map((st) => html`<th>${stateBadge(st)}</th>`);
  const body = rows.map(
    (r) => html`<tr data-fault-class="${r.faultClass}"><th>${link(runsLink(v, { faultClass: r.faultClass }), r.faultClass)}</th>
${states.map((st) => html`<td data-state="${st}" data-count="${String(r.byState[st])}">${r.byState[st] > 0 ? link(runsLink(v, { faultClass: r.faultClass, state: st }), String(r.byState[st])) : '0'}</td>`)}
<td data-total="${String(r.total)}">${String(r.total)}</td><td data-escalated="${String(r.escalated)}" data-ended="${String(r.ended)}">${rate(r.escalated, r.ended)} (${String(r.escalated)}/${String(r.ended)})</td></tr>`,
  );
  return html`<h2>Runs by fault class and outcome</h2>${barChart(chartRows, 'stack', 'Runs by fault class and outcome')}
<table class="by-class"><thead><tr><th>fault class</th>${head}<th>total</th><th>escalated</th></tr></thead><tbody>${body}</tbody></table>
<p class="muted">${ESCALATION_DEFINITION}</p>`;
}

function recoverySection(v: OverviewView): SafeHtml {
  const rows = v.stats.recovery.filter((r) => r.n > 0 || r.skewed > 0);
  const definition = html`<p class="muted">${RECOVERY_DEFINITION}</p>`;
  if (rows.length === 0) return html`<h2>Recovery time by fault class</h2><p class="muted">No run succeeded in this window.</p>${definition}`;
  const chartRows: BarRow[] = rows.map((r) => {
    const href = runsLink(v, { faultClass: r.faultClass, state: 'succeeded' });
    return {
      label: r.faultClass,
      href,
      text: `p50 ${durationText(r.p50Ms)} · p90 ${durationText(r.p90Ms)} (n=${r.n})`,
      parts: [
        { value: r.p90Ms, cls: 'p90', title: `${r.faultClass}: p90 ${durationText(r.p90Ms)}`, href },
        { value: r.p50Ms, cls: 'p50', title: `${r.faultClass}: p50 ${durationText(r.p50Ms)}`, href },
      ],
    };
  });
  const body = rows.map(
    (r) => html`<tr data-recovery="${r.faultClass}" data-n="${String(r.n)}" data-p50-ms="${String(r.p50Ms)}" data-p90-ms="${String(r.p90Ms)}">
<th>${link(runsLink(v, { faultClass: r.faultClass, state: 'succeeded' }), r.faultClass)}</th><td>${String(r.n)}</td><td>${String(r.verified)}</td>
<td>${r.n > 0 ? durationText(r.p50Ms) : '–'}</td><td>${r.n > 0 ? durationText(r.p90Ms) : '–'}</td><td>${r.skewed > 0 ? `${r.skewed} left out (startsAt after the run ended)` : ''}</td></tr>`,
  );
  return html`<h2>Recovery time by fault class</h2>${barChart(chartRows, 'overlay', 'Recovery time p50 and p90 by fault class')}
<table class="recovery"><thead><tr><th>fault class</th><th>succeeded runs</th><th>of them verified</th><th>p50</th><th>p90</th><th></th></tr></thead><tbody>${body}</tbody></table>${definition}`;
}

function activeSection(v: OverviewView): SafeHtml {
  const counts = ACTIVE_STATES.map((st) => {
    const n = v.active.filter((r) => r.state === st).length;
    return html`<li data-active-state="${st}" data-count="${String(n)}">${link(sitePath(['runs'], { state: st }), html`${stateBadge(st)}: ${String(n)}${v.activeMore.has(st) ? '+' : ''}`)}</li>`;
  });
  return html`<h2>Active now</h2><ul>${counts}</ul>${v.active.length > 0 ? runTable(v.active) : html`<p class="muted">Nothing is running or waiting.</p>`}`;
}

function targetSection(v: OverviewView): SafeHtml {
  const rows = v.stats.targets;
  if (rows.length === 0) return html`<h2>Busiest targets</h2><p class="muted">No runs in this window.</p>`;
  const chartRows: BarRow[] = rows.map((t) => {
    const href = runsLink(v, { target: t.target });
    return {
      label: t.target,
      href,
      text: `${plural(t.runs, 'run')}, ${t.escalated} escalated`,
      parts: [
        { value: t.escalated, cls: 's-failed', title: `${t.target}: ${t.escalated} escalated`, href },
        { value: t.runs - t.escalated, cls: 's-succeeded', title: `${t.target}: ${t.runs - t.escalated} not escalated`, href },
      ],
    };
  });
  const body = rows.map(
    (t) => html`<tr data-target="${t.target}" data-runs="${String(t.runs)}" data-escalated="${String(t.escalated)}"><th>${link(runsLink(v, { target: t.target }), t.target)}</th>
<td>${String(t.runs)}</td><td>${String(t.escalated)}</td><td>${when(t.lastRunAt)}</td></tr>`,
  );
  return html`<h2>Busiest targets</h2>${barChart(chartRows, 'stack', 'Busiest targets')}
<table class="targets"><thead><tr><th>target</th><th>runs</th><th>escalated</th><th>last run created</th></tr></thead><tbody>${body}</tbody></table>`;
}

/** The overview's body. */
export function overviewPage(v: OverviewView): SafeHtml {
  return html`${windowNav(v)}${cards(v)}${activeSection(v)}${classSection(v)}${recoverySection(v)}${targetSection(v)}`;
}
