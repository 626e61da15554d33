/**
 * The set-based side of a SQLite transaction: one delivery's keys read in at most eight statements and its decisions written in at most
 * five (plus one per fleet breaker it touched), however many alerts it carries. Keys travel as one JSON array each.
 */

import { newId } from '../../core/ids.js';
import {
  foldKeyString,
  pairKeyString,
  resolvedKeyString,
  type BreakerState,
  type DeliveryKeys,
  type DeliverySnapshot,
  type DeliveryWrites,
  type EpisodeKey,
  type HeldRead,
} from '../run-store.js';
import { toDecision, toHolders, type DecisionRow, type HolderRow } from './rows.js';
import { episodeStart } from './sqlite-tx.js';
import type { StatementCache } from './statement-cache.js';

const HOLDERS = `
SELECT r.id AS run_id_held, r.state AS run_state, r.ended_at AS run_ended_at,
  json_extract(r.plan_json, '$.cancelOnResolve') AS cancel_on_resolve,
  EXISTS (SELECT 1 FROM escalations e WHERE e.run_id = r.id AND e.reason = 'still_firing') AS still_firing,
  EXISTS (SELECT 1 FROM episodes e WHERE e.fingerprint = r.fingerprint AND e.starts_at = r.starts_at AND e.resolved_at IS NOT NULL) AS resolved, d.*
FROM json_each(?) k
JOIN runs r ON r.runbook = k.value ->> 0 AND r.fingerprint = k.value ->> 1 AND r.starts_at = k.value ->> 2
LEFT JOIN decisions d ON d.run_id = r.id AND d.decision = 'run'`;

const RESOLVED = `
SELECT e.fingerprint, e.starts_at FROM json_each(?) k
JOIN episodes e ON e.fingerprint = k.value ->> 0 AND e.starts_at = k.value ->> 1 WHERE e.resolved_at IS NOT NULL`;

const FOLDS = `
SELECT d.* FROM json_each(?) k
JOIN decisions d ON d.fingerprint = k.value ->> 0 AND d.starts_at = k.value ->> 1 AND d.decision = 'skip'`;

const PAIRS = `
WITH k AS (SELECT value ->> 0 AS runbook, value ->> 1 AS target, value ->> 2 AS since FROM json_each(?))
SELECT k.runbook, k.target,
  (SELECT id FROM runs WHERE runbook = k.runbook AND target = k.target AND state IN ('pending', 'running', 'awaiting_approval')
     ORDER BY created_at, id LIMIT 1) AS active,
  (SELECT count(*) FROM runs WHERE runbook = k.runbook AND target = k.target AND executed = 1 AND started_at >= k.since
     AND started_at > coalesce((SELECT budget_reset_at FROM runbook_state WHERE runbook = k.runbook), -1)) AS attempts
FROM k`;

// The last ended run that executed a step, and how many failed in a row up to it (SqliteTx.lastOutcome, for many pairs).
const OUTCOMES = `
WITH k AS (SELECT DISTINCT value ->> 0 AS runbook, value ->> 1 AS target FROM json_each(?)),
ended AS (
  SELECT r.runbook, r.target, r.state, r.ended_at,
    row_number() OVER (PARTITION BY r.runbook, r.target ORDER BY r.ended_at DESC, r.id DESC) AS n
  FROM k JOIN runs r ON r.runbook = k.runbook AND r.target = k.target WHERE r.executed = 1 AND r.ended_at IS NOT NULL)
SELECT runbook, target, max(CASE WHEN n = 1 THEN ended_at END) AS last_ended,
  coalesce(min(CASE WHEN state NOT IN ('failed', 'interrupted') THEN n END) - 1, count(*)) AS consecutive
FROM ended GROUP BY runbook, target`;

const BREAKERS = `
SELECT runbook, breaker_opened_at, breaker_last_seen_at FROM runbook_state
WHERE breaker_opened_at IS NOT NULL AND runbook IN (SELECT value ->> 0 FROM json_each(?))`;

// The fleet breaker's window is counted, not listed: with a large maxTargets it holds thousands of targets.
const TARGET_COUNTS = `
WITH k AS (SELECT value ->> 0 AS runbook, value ->> 1 AS since FROM json_each(?))
SELECT k.runbook, (SELECT count(DISTINCT r.target) FROM runs r WHERE r.runbook = k.runbook AND r.created_at >= k.since AND r.state <> 'shadow'
  AND r.created_at > coalesce((SELECT budget_reset_at FROM runbook_state WHERE runbook = k.runbook), -1)) AS n FROM k`;

// Which of the delivery's own targets are in the window.
const TARGETS_AMONG = `
WITH k AS (SELECT value ->> 0 AS runbook, value ->> 1 AS target, value ->> 2 AS since FROM json_each(?))
SELECT k.runbook, k.target FROM k WHERE EXISTS (SELECT 1 FROM runs r WHERE r.runbook = k.runbook AND r.target = k.target
  AND r.created_at >= k.since AND r.state <> 'shadow'
  AND r.created_at > coalesce((SELECT budget_reset_at FROM runbook_state WHERE runbook = k.runbook), -1))`;

function uniqueJson(values: readonly unknown[][]): string {
  return JSON.stringify([...new Map(values.map((v) => [JSON.stringify(v), v])).values()]);
}

/** The runs holding these episodes, by episodeKeyString (DeliveryIO.readHeld). */
export function readHeld(stmts: StatementCache, episodes: readonly EpisodeKey[]): Map<string, HeldRead> {
  const held = episodes.filter((k) => k.runbook !== null).map((k) => [k.runbook, k.fingerprint, k.startsAt]);
  return held.length === 0 ? new Map() : toHolders(stmts.get(HOLDERS).all(uniqueJson(held)) as HolderRow[]);
}

/** Reads everything one delivery's guard needs (DeliveryIO.readDelivery); a read whose keys are empty is left out. */
export function readDelivery(stmts: StatementCache, keys: DeliveryKeys): DeliverySnapshot {
  const episodes = uniqueJson(keys.episodes.map((k) => [k.fingerprint, k.startsAt]));
  const holders = readHeld(stmts, keys.episodes);
  const resolved = new Set(
    (stmts.get(RESOLVED).all(episodes) as { fingerprint: string; starts_at: string }[]).map((r) => resolvedKeyString(r.fingerprint, r.starts_at)),
  );
  const folds = new Map<string, ReturnType<typeof toDecision>>();
  for (const row of stmts.get(FOLDS).all(episodes) as DecisionRow[]) folds.set(foldKeyString(row.fingerprint, row.starts_at, row.runbook, row.reason), toDecision(row));
  const scopes = stmts.get('SELECT scope FROM pauses').pluck().all() as string[];
  return {
    globalPaused: scopes.includes('*'),
    pausedRunbooks: new Set(scopes.filter((s) => s.startsWith('runbook:')).map((s) => s.slice('runbook:'.length))),
    holders,
    resolved,
    folds,
    pairs: keys.pairs.length === 0 ? new Map() : readPairs(stmts, keys),
    ...(keys.runbooks.length === 0 ? { breakers: new Map(), targets: new Map() } : readRunbooks(stmts, keys)),
  };
}

function readPairs(stmts: StatementCache, keys: DeliveryKeys): DeliverySnapshot['pairs'] {
  const json = JSON.stringify(keys.pairs.map((p) => [p.runbook, p.target, p.attemptsSinceMs]));
  const outcomes = new Map<string, { endedAt: number; consecutiveFailures: number }>();
  for (const row of stmts.get(OUTCOMES).all(json) as { runbook: string; target: string; last_ended: number; consecutive: number }[]) {
    outcomes.set(pairKeyString(row.runbook, row.target), { endedAt: row.last_ended, consecutiveFailures: row.consecutive });
  }
  const pairs = new Map<string, DeliverySnapshot['pairs'] extends ReadonlyMap<string, infer F> ? F : never>();
  for (const row of stmts.get(PAIRS).all(json) as { runbook: string; target: string; active: string | null; attempts: number }[]) {
    const key = pairKeyString(row.runbook, row.target);
    pairs.set(key, { activeRunId: row.active, attempts: row.attempts, lastOutcome: outcomes.get(key) ?? null });
  }
  return pairs;
}

function readRunbooks(stmts: StatementCache, keys: DeliveryKeys): Pick<DeliverySnapshot, 'breakers' | 'targets'> {
  const json = JSON.stringify(keys.runbooks.map((r) => [r.runbook, r.targetsSinceMs]));
  const breakers = new Map<string, BreakerState>();
  for (const row of stmts.get(BREAKERS).all(json) as { runbook: string; breaker_opened_at: number; breaker_last_seen_at: number }[]) {
    breakers.set(row.runbook, { runbook: row.runbook, openedAt: row.breaker_opened_at, lastSeenAt: row.breaker_last_seen_at });
  }
  const since = new Map(keys.runbooks.map((r) => [r.runbook, r.targetsSinceMs]));
  const targets = new Map<string, { count: number; among: Set<string> }>();
  for (const row of stmts.get(TARGET_COUNTS).all(json) as { runbook: string; n: number }[]) targets.set(row.runbook, { count: row.n, among: new Set() });
  const asked = JSON.stringify(keys.pairs.filter((p) => since.has(p.runbook)).map((p) => [p.runbook, p.target, since.get(p.runbook)]));
  for (const row of stmts.get(TARGETS_AMONG).all(asked) as { runbook: string; target: string }[]) targets.get(row.runbook)?.among.add(row.target);
  return { breakers, targets };
}

const INSERT_RUNS = `
INSERT INTO runs (id, runbook, runbook_hash, fault_class, target, pool, mode, state, reason, alertname, fingerprint, starts_at,
  alert_json, params_json, plan_json, created_at, not_before, max_pending_age_ms, max_concurrent_per_pool, ended_at)
SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6, j.value ->> 7, j.value ->> 8,
  j.value ->> 9, j.value ->> 10, j.value ->> 11, j.value ->> 12, j.value ->> 13, j.value ->> 14, ?, j.value ->> 15, j.value ->> 16,
  j.value ->> 17, j.value ->> 18
FROM json_each(?) j`;

const INSERT_DECISIONS = `
INSERT INTO decisions (id, received_at, fingerprint, starts_at, alertname, status, runbook, decision, reason, run_id, deliveries)
SELECT j.value ->> 0, ?, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6, j.value ->> 7,
  j.value ->> 8, j.value ->> 9
FROM json_each(?) j WHERE true
ON CONFLICT (fingerprint, starts_at, coalesce(runbook, ''), coalesce(reason, '')) WHERE decision = 'skip'
DO UPDATE SET deliveries = deliveries + excluded.deliveries`;

/** Writes what one delivery decided (DeliveryIO.writeDelivery). */
export function writeDelivery(stmts: StatementCache, writes: DeliveryWrites, now: number): Map<string, number> {
  const counted = new Map<string, number>();
  if (writes.resolved.length > 0) {
    stmts
      .get(
        `INSERT INTO episodes (fingerprint, starts_at, resolved_at) SELECT j.value ->> 0, j.value ->> 1, ? FROM json_each(?) j WHERE true
         ON CONFLICT (fingerprint, starts_at) DO UPDATE SET resolved_at = coalesce(resolved_at, excluded.resolved_at)`,
      )
      .run(now, JSON.stringify(writes.resolved.map((r) => [r.fingerprint, r.startsAt])));
  }
  if (writes.runs.length > 0) {
    const rows = writes.runs.map((run) => [
      run.id, run.runbook, run.runbookHash, run.faultClass, run.target, run.pool, run.mode, run.state, run.reason,
      run.alert.labels['alertname'] ?? '', run.alert.fingerprint, episodeStart(run.alert.startsAt),
      JSON.stringify(run.alert), JSON.stringify(run.params), JSON.stringify(run.plan),
      // A shadow run is final at birth, so it has an end like every other final run.
      run.notBefore, run.maxPendingAgeMs, run.maxConcurrentPerPool, run.state === 'shadow' ? now : null,
    ]);
    stmts.get(INSERT_RUNS).run(now, JSON.stringify(rows));
  }
  if (writes.decisions.length > 0) {
    const rows = writes.decisions.map((d) => [d.id, d.fingerprint, d.startsAt, d.alertname, d.status, d.runbook, d.decision, d.reason, d.runId, d.deliveries]);
    stmts.get(INSERT_DECISIONS).run(now, JSON.stringify(rows));
  }
  if (writes.deliveries.size > 0) {
    const grown = stmts
      .get('UPDATE decisions SET deliveries = deliveries + (j.value ->> 1) FROM json_each(?) j WHERE decisions.id = j.value ->> 0 RETURNING id, deliveries')
      .all(JSON.stringify([...writes.deliveries])) as { id: string; deliveries: number }[];
    for (const row of grown) counted.set(row.id, row.deliveries);
  }
  if (writes.escalations.length > 0) {
    const rows = writes.escalations.map((e) => [newId(now), e.runbook, e.runId, e.reason, e.target, JSON.stringify(e.alert)]);
    stmts
      .get(
        `INSERT INTO escalations (id, created_at, runbook, run_id, reason, target, alert_json)
         SELECT j.value ->> 0, ?, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5 FROM json_each(?) j`,
      )
      .run(now, JSON.stringify(rows));
  }
  for (const [runbook, state] of writes.breakers) {
    stmts
      .get(
        `INSERT INTO runbook_state (runbook, breaker_opened_at, breaker_last_seen_at) VALUES (?, ?, ?)
         ON CONFLICT (runbook) DO UPDATE SET breaker_opened_at = excluded.breaker_opened_at, breaker_last_seen_at = excluded.breaker_last_seen_at`,
      )
      .run(runbook, state?.openedAt ?? null, state?.lastSeenAt ?? null);
  }
  return counted;
}
