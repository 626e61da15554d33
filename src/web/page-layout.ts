/** The frame of every page: one inline stylesheet, the navigation, no external assets; no script but a live page's refresh. */

import { html, link, sitePath, type HtmlValue, type SafeHtml } from './html.js';
import { liveHead, liveNote, liveScript, type LivePage } from './live-refresh.js';

// Authored here, never from data; made through the tag so that it is markup, not escaped text.
const STYLE = html`
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#20232a;color:#fff;padding:.5em 1em;display:flex;gap:1.5em;align-items:baseline}
header a{color:#9cdcfe;text-decoration:none}header strong{font-size:1.1em}
main{padding:1em;max-width:1400px}
table{border-collapse:collapse;margin:.5em 0 1em;background:#fff}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0;font-weight:600}
pre{background:#f4f4f4;border:1px solid #ddd;padding:.5em;overflow:auto;max-height:30em;white-space:pre-wrap;word-break:break-all}
code{background:#f4f4f4;padding:0 .2em}
.state{font-weight:600}.s-succeeded{color:#176f2c}.s-failed,.s-interrupted{color:#b3261e}
.s-running,.s-pending,.s-awaiting_approval{color:#7a5c00}.s-canceled,.s-skipped,.s-shadow,.s-not_run,.s-would_run{color:#555}
.muted{color:#666}.warn{background:#fff4ce;border:1px solid #e0c060;padding:.5em}
form.filters{display:flex;flex-wrap:wrap;gap:.5em;align-items:end}form.filters label{display:flex;flex-direction:column;font-size:.85em}
section.tier{border:1px solid #ccc;background:#fff;padding:.5em 1em;margin:1em 0}
section.step{border-left:3px solid #ccc;padding-left:.75em;margin:.75em 0}
dl{display:grid;grid-template-columns:max-content auto;gap:.15em 1em}dt{font-weight:600}dd{margin:0}
p.live{color:#555;font-size:.85em}
figure.timeline{margin:.5em 0 1em}svg.tl,svg.chart{width:100%;max-width:1000px;height:auto;background:#fff;border:1px solid #ddd}
svg text{font-size:12px;fill:#1d1d1f}svg text.tl-tier{font-weight:600}svg text.tl-state{fill:currentColor;font-weight:600}
svg text.tl-note{fill:#555;font-size:11px}.tl-axis line{stroke:#ececec}.tl-axis text{fill:#777;font-size:11px}
.tl-bar,.bar{fill:#999}.tl-bar.k-tier{opacity:.4}.tl-bar.k-approval,.tl-bar.k-queue{opacity:.7}
.tl-bar.open{stroke:#7a5c00;stroke-dasharray:3 2}
.tl-bar.s-succeeded,.bar.s-succeeded{fill:#3a9d5d}.tl-bar.s-failed,.tl-bar.s-interrupted,.bar.s-failed,.bar.s-interrupted{fill:#d9534f}
.tl-bar.s-running,.tl-bar.s-pending,.tl-bar.s-awaiting_approval,.bar.s-running,.bar.s-pending,.bar.s-awaiting_approval{fill:#e0b030}
.tl-bar.s-canceled,.tl-bar.s-skipped,.bar.s-canceled,.bar.s-skipped{fill:#aaa}.bar.s-shadow{fill:#cfcfcf}
.tl-bar.s-shadow{fill:none;stroke:#888;stroke-dasharray:4 3}.bar.p50{fill:#4a7fb5}.bar.p90{fill:#a3c1e0}
.tl-check{stroke:#fff;stroke-width:1}.c-held{fill:#176f2c;color:#176f2c}.c-not_held{fill:#777;color:#777}.c-error{fill:#b3261e;color:#b3261e}
.tl-event{stroke:#20232a;stroke-dasharray:2 3}.tl-event.e-alert{stroke:#b3261e}.tl-event.e-ended{stroke:#176f2c}.tl-event.e-now{stroke:#7a5c00}
.tl-mark text{font-size:11px;fill:#333}
.cards{display:flex;flex-wrap:wrap;gap:1em}.card{background:#fff;border:1px solid #ddd;padding:.5em 1em;min-width:12em}.card .big{font-size:1.8em;font-weight:600}
nav.windows a{margin-right:.75em}nav.windows a.current{font-weight:700;text-decoration:none;color:#1d1d1f}
`;

/** A whole HTML document around a page's body; a live page follows what is active (live-refresh.ts). */
export function layout(title: string, body: HtmlValue, live?: LivePage): string {
  const nav = [
    link(sitePath([]), 'Overview'),
    link(sitePath(['runs']), 'Runs'),
    link(sitePath(['decisions']), 'Decisions'),
    link(sitePath(['runbooks']), 'Runbooks'),
  ];
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="same-origin"><title>${title} · remediator</title><style>${STYLE}</style>${live ? liveHead(live) : ''}</head>
<body><header><strong>remediator</strong>${nav}</header><main${live ? html` data-live="${String(live.everyMs)}"` : ''}><h1>${title}</h1>
${live ? liveNote(live) : ''}${body}
</main>${live ? liveScript() : ''}</body></html>
`.toString();
}

/** A run or step state, coloured by class. */
export function stateBadge(state: string, reason?: string | null): SafeHtml {
  return html`<span class="state s-${state.replaceAll(' ', '_')}">${state}</span>${reason ? html` <span class="muted">(${reason})</span>` : ''}`;
}

/** An RFC 3339 time, or a dash. */
export function when(iso: string | null | undefined): SafeHtml {
  return iso ? html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>` : html`<span class="muted">–</span>`;
}

/** How long from start to end, as "1m23s" or "850ms"; a dash while either is unknown. */
export function durationBetween(startIso: string | null | undefined, endIso: string | null | undefined): string {
  if (!startIso || !endIso) return '–';
  const ms = Date.parse(endIso) - Date.parse(startIso);
  if (!Number.isFinite(ms) || ms < 0) return '–';
  return durationText(ms);
}

/** Milliseconds as "1m23s" or "850ms". */
export function durationText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  const parts = [[Math.floor(s / 3600), 'h'], [Math.floor((s % 3600) / 60), 'm'], [s % 60, 's']] as const;
  return parts.filter(([n], i) => n > 0 || i === 2).map(([n, u]) => `${n}${u}`).join('');
}

/** A label or annotation map as a two-column table. */
export function mapTable(map: Readonly<Record<string, string>> | null | undefined, empty = 'none'): SafeHtml {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<table>${entries.map(([k, v]) => html`<tr><th>${k}</th><td><code>${v}</code></td></tr>`)}</table>`;
}

/** Any value as indented JSON in a <pre>. */
export function jsonBlock(value: unknown): SafeHtml {
  if (value === null || value === undefined) return html`<p class="muted">none</p>`;
  return html`<pre>${JSON.stringify(value, null, 2)}</pre>`;
}

/** A definition list of name/value pairs; pairs whose value is undefined are left out. */
export function facts(pairs: ReadonlyArray<readonly [string, HtmlValue]>): SafeHtml {
  return html`<dl>${pairs.filter(([, v]) => v !== undefined).map(([k, v]) => html`<dt>${k}</dt><dd>${v === null || v === '' ? '–' : v}</dd>`)}</dl>`;
}
