/**
 * The run page's timeline: an inline SVG (no script, no external asset) of the rows timelineOf lays out, each bar
 * with its name and outcome as text and in a <title>, the verification checks as marks, the alert's start and the
 * run's end as lines across. Every name and note is data, so all of it goes through the html tag.
 */

import type { RunDetail } from '../core/run.js';
import { html, type SafeHtml } from './html.js';
import { durationText } from './page-layout.js';
import { timelineOf, type Timeline, type TimelineEvent, type TimelineRow } from './timeline-model.js';

const W = 1000;
const NAME_X = 8;
const STATE_X = 210;
const X0 = 350;
const X1 = 984;
const TOP = 28;
const ROW = 22;
const BAR_H = 14;
const LANE = 15;
const TICKS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400].map((s) => s * 1000);

/** Cuts text to n characters (code points), marking the cut. */
function clip(text: string, n: number): string {
  const chars = Array.from(text);
  return chars.length > n ? `${chars.slice(0, n - 1).join('')}…` : text;
}

const iso = (t: number | null): string => (t === null ? '' : new Date(t).toISOString());
const round = (n: number): string => n.toFixed(1);

function axis(tl: Timeline, x: (t: number) => number, height: number): SafeHtml {
  const span = tl.to - tl.from;
  const step = TICKS_MS.find((s) => span / s <= 8) ?? TICKS_MS[TICKS_MS.length - 1] ?? 86_400_000;
  const ticks: SafeHtml[] = [];
  for (let t = 0; t <= span; t += step) {
    const px = round(x(tl.from + t));
    ticks.push(html`<line x1="${px}" y1="${TOP - 6}" x2="${px}" y2="${height}"/><text x="${px}" y="${TOP - 10}" text-anchor="middle">+${t === 0 ? '0s' : durationText(t)}</text>`);
  }
  return html`<g class="tl-axis">${ticks}</g>`;
}

function rowView(row: TimelineRow, i: number, tl: Timeline, x: (t: number) => number): SafeHtml {
  const y = TOP + i * ROW;
  const mid = y + ROW / 2;
  const open = row.start !== null && row.end === null;
  const took = row.start !== null ? ` · ${open ? 'since' : 'took'} ${durationText(Math.max(0, (row.end ?? tl.now) - row.start))}` : '';
  const when = row.start !== null ? ` · ${iso(row.start)} → ${open ? 'now' : iso(row.end)}` : '';
  const title = `${row.name} · ${row.state}${row.note ? ` · ${row.note}` : ''}${took}${when}`;
  const nameClass = row.kind === 'tier' ? 'tl-name tl-tier' : 'tl-name';
  const label = html`<text class="${nameClass}" x="${NAME_X + row.depth * 14}" y="${mid + 4}">${clip(row.name, 30 - row.depth * 2)}</text>
<text class="tl-state s-${row.tone}" x="${STATE_X}" y="${mid + 4}">${clip(row.state, 20)}</text>`;
  let bar: SafeHtml | string = '';
  if (tl.shadow) {
    bar = html`<rect class="tl-bar s-shadow k-${row.kind}" x="${X0}" y="${mid - BAR_H / 2}" width="${X1 - X0}" height="${BAR_H}" rx="2"/>
<text class="tl-note" x="${X0 + 6}" y="${mid + 4}">${clip(`${row.state}${row.note ? ` · ${row.note}` : ''}`, 90)}</text>`;
  } else if (row.start !== null) {
    const x1 = x(row.start);
    const x2 = Math.max(x1 + 2, x(row.end ?? tl.now));
    const note = row.note === '' ? '' : noteView(row.note, x1, x2, mid);
    const checks = row.checks.map(
      (c) => html`<circle class="tl-check c-${c.result}" cx="${round(x(c.at))}" cy="${mid}" r="3.5"><title>check at ${iso(c.at)}: ${c.result.replace('_', ' ')}</title></circle>`,
    );
    bar = html`<rect class="tl-bar s-${row.tone} k-${row.kind}${open ? ' open' : ''}" x="${round(x1)}" y="${mid - BAR_H / 2}" width="${round(x2 - x1)}" height="${BAR_H}" rx="2"/>${note}${checks}`;
  }
  return html`<g class="tl-row" data-kind="${row.kind}" data-name="${row.name}" data-state="${row.state}" data-start="${iso(row.start)}" data-end="${iso(row.end)}"><title>${title}</title>
${label}${bar}</g>`;
}

/** The note beside its bar: after it where there is room, else before it, else inside the <title> only. */
function noteView(note: string, x1: number, x2: number, mid: number): SafeHtml | string {
  const text = clip(note, 60);
  const width = Array.from(text).length * 6.2;
  if (X1 - x2 >= width + 6) return html`<text class="tl-note" x="${round(x2 + 5)}" y="${mid + 4}">${text}</text>`;
  if (x1 - X0 >= width + 6) return html`<text class="tl-note" x="${round(x1 - 5)}" y="${mid + 4}" text-anchor="end">${text}</text>`;
  return '';
}

/** Lines across the rows, their labels below in as many lanes as it takes for them not to overlap. */
function eventsView(tl: Timeline, x: (t: number) => number, bottom: number): { view: SafeHtml; lanes: number } {
  const lanesEnd: number[] = [];
  const views = [...tl.events]
    .sort((a, b) => a.at - b.at)
    .map((e: TimelineEvent) => {
      const offAxis = e.kind === 'alert' && tl.alertEarlierMs !== null;
      const px = offAxis ? X0 : x(e.at);
      const label = offAxis ? `◂ ${e.label} ${durationText(tl.alertEarlierMs ?? 0)} before` : e.label;
      const width = Array.from(label).length * 6.2;
      const anchor = px + width > W ? 'end' : 'start';
      const left = anchor === 'end' ? px - width : px;
      let lane = lanesEnd.findIndex((end) => end < left - 8);
      if (lane === -1) lane = lanesEnd.push(0) - 1;
      lanesEnd[lane] = left + width;
      const y = bottom + 12 + lane * LANE;
      return html`<g class="tl-mark e-${e.kind}" data-kind="${e.kind}" data-at="${iso(e.at)}"><title>${e.label} at ${iso(e.at)}</title>
<line class="tl-event e-${e.kind}" x1="${round(px)}" y1="${TOP - 4}" x2="${round(px)}" y2="${y - 10}"/><text x="${round(anchor === 'end' ? px - 2 : px + 2)}" y="${y}" text-anchor="${anchor}">${label}</text></g>`;
    });
  return { view: html`${views}`, lanes: Math.max(1, lanesEnd.length) };
}

/** The timeline figure of a run, as of `now` (epoch ms). */
export function runTimeline(run: RunDetail, now: number): SafeHtml {
  const tl = timelineOf(run, now);
  const x = (t: number): number => X0 + ((t - tl.from) / Math.max(1, tl.to - tl.from)) * (X1 - X0);
  const bottom = TOP + tl.rows.length * ROW + 4;
  const events = tl.shadow ? { view: html``, lanes: 0 } : eventsView(tl, x, bottom);
  const height = bottom + events.lanes * LANE + 8;
  const rows = tl.rows.map((r, i) => rowView(r, i, tl, x));
  const caption = tl.shadow
    ? html`Shadow run: nothing ran. These are the tiers and steps it <strong>would run</strong>, in order.`
    : html`From ${iso(tl.from)} to ${iso(tl.to)}${tl.active ? ` (the run is still active at ${iso(tl.now)})` : ''}. Bars in time order; verification checks as dots:
<span class="c-held">●</span> held, <span class="c-not_held">●</span> not held, <span class="c-error">●</span> query failed.`;
  return html`<figure class="timeline"><svg class="tl" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" role="group" aria-label="Timeline of run ${run.id}">
${tl.shadow ? '' : axis(tl, x, bottom)}${rows}${events.view}</svg><figcaption class="muted">${caption}</figcaption></figure>`;
}
