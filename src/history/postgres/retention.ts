/** Retention on PostgreSQL: one small batch of ended runs (with their tiers, steps, decisions and escalations) per call. */

import type pg from 'pg';
import { FINAL_STATES } from '../../core/run.js';
import type { PruneCounts } from '../run-store.js';
import { changed, rows } from './rows.js';
import { runTransaction } from './transactions.js';

/** Deletes at most `batch` runs created before beforeMs that have ended, and as many run-less decisions and posted escalations. */
export function pruneBatch(pool: pg.Pool, beforeMs: number, batch: number): Promise<PruneCounts> {
  return runTransaction(pool, 'prune past retention', async (client): Promise<PruneCounts> => {
    // SKIP LOCKED: a run some other transaction is touching is left for the next batch rather than waited for.
    const ids = (
      await rows<{ id: string }>(
        client,
        'SELECT id FROM runs WHERE created_at < $1 AND state = ANY($2::text[]) ORDER BY created_at, id LIMIT $3 FOR UPDATE SKIP LOCKED',
        [beforeMs, FINAL_STATES, batch],
      )
    ).map((r) => r.id);
    let decisions = 0;
    let escalations = 0;
    if (ids.length > 0) {
      await client.query('DELETE FROM run_steps WHERE run_id = ANY($1::text[])', [ids]);
      await client.query('DELETE FROM run_tiers WHERE run_id = ANY($1::text[])', [ids]);
      decisions += await changed(client, 'DELETE FROM decisions WHERE run_id = ANY($1::text[])', [ids]);
      escalations += await changed(client, 'DELETE FROM escalations WHERE run_id = ANY($1::text[])', [ids]);
      await client.query('DELETE FROM runs WHERE id = ANY($1::text[])', [ids]);
    }
    decisions += await changed(
      client,
      'DELETE FROM decisions WHERE id IN (SELECT id FROM decisions WHERE run_id IS NULL AND received_at < $1 ORDER BY received_at, id LIMIT $2)',
      [beforeMs, batch],
    );
    escalations += await changed(
      client,
      `DELETE FROM escalations WHERE id IN (SELECT id FROM escalations WHERE run_id IS NULL AND posted_at IS NOT NULL AND created_at < $1
         ORDER BY created_at, id LIMIT $2)`,
      [beforeMs, batch],
    );
    const episodes = await changed(
      client,
      `DELETE FROM episodes WHERE (fingerprint, starts_at) IN (SELECT fingerprint, starts_at FROM episodes
         WHERE greatest(coalesce(resolved_at, 0), coalesce(prometheus_seen_at, 0)) < $1 LIMIT $2)`,
      [beforeMs, batch],
    );
    return { runs: ids.length, decisions, escalations, episodes };
  });
}
