/** The frame of every page: one inline stylesheet, the navigation, no scripts and no external assets. */

import { html, link, sitePath, type HtmlValue, type SafeHtml } from './html.js';

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
.s-running,.s-pending,.s-awaiting_approval{color:#7a5c00}.s-canceled,.s-skipped,.s-shadow{color:#555}
.muted{color:#666}.warn{background:#fff4ce;border:1px solid #e0c060;padding:.5em}
form.filters{display:flex;flex-wrap:wrap;gap:.5em;align-items:end}form.filters label{display:flex;flex-direction:column;font-size:.85em}
section.tier{border:1px solid #ccc;background:#fff;padding:.5em 1em;margin:1em 0}
section.step{border-left:3px solid #ccc;padding-left:.75em;margin:.75em 0}
dl{display:grid;grid-template-columns:max-content auto;gap:.15em 1em}dt{font-weight:600}dd{margin:0}
`;

/** A whole HTML document around a page's body. */
export function layout(title: string, body: HtmlValue): string {
  const nav = [
    link(sitePath(['runs']), 'Runs'),
    link(sitePath(['decisions']), 'Decisions'),
    link(sitePath(['runbooks']), 'Runbooks'),
  ];
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${title} · remediator</title><style>${STYLE}</style></head>
<body><header><strong>remediator</strong>${nav}</header><main><h1>${title}</h1>
${body}
</main></body></html>
`.toString();
}

/** A run or step state, coloured by class. */
export function stateBadge(state: string, reason?: string | null): SafeHtml {
  return html`<span class="state s-${state}">${state}</span>${reason ? html` <span class="muted">(${reason})</span>` : ''}`;
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
  if (ms < 1000) return `${ms}ms`;
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
