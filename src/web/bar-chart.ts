/** Small horizontal bar charts as inline SVG: one row per item, its parts stacked or overlaid, each a link with a <title>. */

import { html, type Href, type SafeHtml } from './html.js';

/** One part of a row's bar. */
export interface BarPart {
  readonly value: number;
  /** Stylesheet classes of the bar (`s-failed`, `p50`...). */
  readonly cls: string;
  readonly title: string;
  readonly href: Href;
}

export interface BarRow {
  readonly label: string;
  readonly href: Href;
  readonly parts: readonly BarPart[];
  /** What is written after the bar. */
  readonly text: string;
}

const W = 1000;
const LABEL_W = 210;
const X0 = 220;
const X1 = 740;
const ROW = 24;
const BAR_H = 15;

function clip(text: string, n: number): string {
  const chars = Array.from(text);
  return chars.length > n ? `${chars.slice(0, n - 1).join('')}…` : text;
}

/**
 * The chart: `stack` lays a row's parts end to end (runs by state), `overlay` draws them from zero, widest first
 * (p90 behind p50). Bars are scaled to the largest row.
 */
export function barChart(rows: readonly BarRow[], mode: 'stack' | 'overlay', label: string): SafeHtml {
  const extent = (r: BarRow): number => (mode === 'stack' ? r.parts.reduce((a, p) => a + p.value, 0) : Math.max(0, ...r.parts.map((p) => p.value)));
  const max = Math.max(1, ...rows.map(extent));
  const scale = (v: number): number => (v / max) * (X1 - X0);
  const height = rows.length * ROW + 8;
  const drawn = rows.map((r, i) => {
    const y = 4 + i * ROW;
    const barY = y + (ROW - BAR_H) / 2;
    let x = X0;
    const parts = (mode === 'overlay' ? [...r.parts].sort((a, b) => b.value - a.value) : r.parts)
      .filter((p) => p.value > 0)
      .map((p) => {
        const width = Math.max(2, scale(p.value));
        const at = mode === 'stack' ? x : X0;
        if (mode === 'stack') x += width;
        return html`<a href="${p.href}"><rect class="bar ${p.cls}" x="${at.toFixed(1)}" y="${barY}" width="${width.toFixed(1)}" height="${BAR_H}"><title>${p.title}</title></rect></a>`;
      });
    const end = mode === 'stack' ? x : X0 + scale(extent(r));
    return html`<g class="chart-row" data-label="${r.label}"><a href="${r.href}"><text x="${LABEL_W}" y="${y + ROW / 2 + 4}" text-anchor="end">${clip(r.label, 32)}</text></a>
${parts}<text x="${(end + 6).toFixed(1)}" y="${y + ROW / 2 + 4}">${r.text}</text></g>`;
  });
  return html`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" role="group" aria-label="${label}">${drawn}</svg>`;
}
