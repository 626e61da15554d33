/** Retention on SQLite: one small batch of ended runs (with their tiers, steps, decisions and escalations) per call. */

import type Database from 'better-sqlite3';
import { FINAL_STATES } from '../../core/run.js';
import type { PruneCounts } from '../run-store.js';
import type { StatementCache } from './statement-cache.js';

const FINAL = FINAL_STATES.map((s) => `'${s}'`).join(', ');

/** Deletes at most `batch` runs created before beforeMs that have ended, and as many run-less decisions and posted escalations. */
export function pruneBatch(db: Database.Database, stmts: StatementCache, beforeMs: number, batch: number): PruneCounts {
  return db.transaction((): PruneCounts => {
    const ids = stmts.get(`SELECT id FROM runs WHERE created_at < ? AND state IN (${FINAL}) ORDER BY created_at, id LIMIT ?`).pluck().all(beforeMs, batch) as string[];
    let decisions = 0;
    let escalations = 0;
    if (ids.length > 0) {
      const list = JSON.stringify(ids);
      const inList = 'IN (SELECT value FROM json_each(?))';
      stmts.get(`DELETE FROM run_steps WHERE run_id ${inList}`).run(list);
      stmts.get(`DELETE FROM run_tiers WHERE run_id ${inList}`).run(list);
      decisions += stmts.get(`DELETE FROM decisions WHERE run_id ${inList}`).run(list).changes;
      escalations += stmts.get(`DELETE FROM escalations WHERE run_id ${inList}`).run(list).changes;
      stmts.get(`DELETE FROM runs WHERE id ${inList}`).run(list);
    }
    decisions += stmts
      .get('DELETE FROM decisions WHERE id IN (SELECT id FROM decisions WHERE run_id IS NULL AND received_at < ? ORDER BY received_at, id LIMIT ?)')
      .run(beforeMs, batch).changes;
    escalations += stmts
      .get('DELETE FROM escalations WHERE id IN (SELECT id FROM escalations WHERE run_id IS NULL AND posted_at IS NOT NULL AND created_at < ? ORDER BY created_at, id LIMIT ?)')
      .run(beforeMs, batch).changes;
    const episodes = stmts
      .get(
        `DELETE FROM episodes WHERE (fingerprint, starts_at) IN (SELECT fingerprint, starts_at FROM episodes
           WHERE max(coalesce(resolved_at, 0), coalesce(prometheus_seen_at, 0)) < ? LIMIT ?)`,
      )
      .run(beforeMs, batch).changes;
    return { runs: ids.length, decisions, escalations, episodes };
  })();
}
