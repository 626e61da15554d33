/** Reporting's facts about a run (Grafana annotations, the silence, the escalation posted), merged into its record. */

import type { RunReport } from '../run-store.js';
import type { StatementCache } from './statement-cache.js';

/** SQL NULL for null, else the JSON text. */
function jsonOrNull(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}

/** Writes the keys the report gives (undefined counts as absent) and leaves the others as they are; a no-op for an unknown run. */
export function setRunReport(stmts: StatementCache, runId: string, report: RunReport): void {
  const sets: string[] = [];
  const binds: unknown[] = [];
  if (report.annotations !== undefined) {
    sets.push('annotations_json = ?');
    binds.push(jsonOrNull(report.annotations));
  }
  if (report.silenceId !== undefined) {
    sets.push('silence_id = ?');
    binds.push(report.silenceId);
  }
  if (report.escalation !== undefined) {
    sets.push('escalation_json = ?');
    binds.push(jsonOrNull(report.escalation));
  }
  if (sets.length === 0) return;
  stmts.get(`UPDATE runs SET ${sets.join(', ')} WHERE id = ?`).run(...binds, runId);
}
