/** Reporting's facts about a run (Grafana annotations, the silence, the escalation posted), merged into its record. */

import type { RunReport } from '../run-store.js';
import type { Queryable } from './rows.js';

/** SQL NULL for null, else the JSON text. */
function jsonOrNull(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}

/** Writes the keys the report gives (undefined counts as absent) and leaves the others as they are; a no-op for an unknown run. */
export async function setRunReport(db: Queryable, runId: string, report: RunReport): Promise<void> {
  const sets: string[] = [];
  const binds: unknown[] = [runId];
  const set = (column: string, value: unknown): void => {
    binds.push(value);
    sets.push(`${column} = $${binds.length}`);
  };
  if (report.annotations !== undefined) set('annotations_json', jsonOrNull(report.annotations));
  if (report.silenceId !== undefined) set('silence_id', report.silenceId);
  if (report.escalation !== undefined) set('escalation_json', jsonOrNull(report.escalation));
  if (sets.length === 0) return;
  await db.query(`UPDATE runs SET ${sets.join(', ')} WHERE id = $1`, binds);
}
