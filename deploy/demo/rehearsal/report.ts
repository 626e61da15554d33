/** The rehearsal's table: one row per fault class, the columns of RehearsalRow. */
import type { RehearsalRow } from './episode.js';

const COLUMNS: readonly [string, (r: RehearsalRow) => string][] = [
  ['fault class', (r) => r.faultClass],
  ['runbook', (r) => r.runbook],
  ['run', (r) => `${r.runState ?? 'none'}${r.verified ? ', verified' : ''}${r.escalated ? ', escalated' : ''}`],
  ['detect s', (r) => num(r.detectSeconds)],
  ['remediate s', (r) => num(r.remediateSeconds)],
  ['MTTR s', (r) => num(r.mttrSeconds)],
  ['remediator s', (r) => num(r.remediatorSeconds)],
  ['client requests', (r) => String(r.clientRequests)],
  ['client failures', (r) => String(r.clientFailures)],
  ['fallbacks', (r) => String(r.fallbacks)],
  ['restarts', (r) => String(r.restarts)],
];

function num(v: number | null): string {
  return v === null ? '-' : v.toFixed(1);
}

/** The rows as a Markdown table (also readable as plain text). */
export function formatTable(rows: readonly RehearsalRow[]): string {
  const cells = rows.map((r) => COLUMNS.map(([, f]) => f(r)));
  const widths = COLUMNS.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i]?.length ?? 0)));
  const line = (values: readonly string[]): string => `| ${values.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(COLUMNS.map(([h]) => h)), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}
