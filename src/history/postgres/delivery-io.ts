/**
 * The set-based side of a PostgreSQL transaction: one delivery takes every advisory lock its keys need in one statement
 * (in one global order, so two deliveries never deadlock on each other), reads its keys in at most seven statements and
 * writes its decisions in at most six (plus one per fleet breaker it touched), however many alerts it carries. The lock
 * names are those of advisory-locks.ts, so the per-key StoreTx methods and this path exclude each other. Repeats of
 * episodes already held are read first, in one statement and without a lock (readHeld), and need none of the rest.
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
import { toDecision, toHolders, type DecisionRow, type HolderRow } from '../sqlite/rows.js';
import { rows, type Queryable } from './rows.js';

/** The names advisory-locks.ts would take one by one for these keys. */
function lockNames(keys: DeliveryKeys): string[] {
  const names = new Set<string>();
  for (const k of keys.episodes) {
    names.add(JSON.stringify(['remediator:resolved', k.fingerprint, k.startsAt]));
    if (k.runbook !== null) names.add(JSON.stringify(['remediator:episode', k.runbook, k.fingerprint, k.startsAt]));
  }
  for (const p of keys.pairs) names.add(JSON.stringify(['remediator:active', p.runbook, p.target]));
  for (const r of keys.runbooks) names.add(JSON.stringify(['remediator:runbook', r.runbook]));
  return [...names];
}

// The pause scopes ride along (one round trip fewer): they are read in the statement's snapshot, taken before the locks
// are granted, which is as if the delivery had come a moment sooner; no pause is ordered by these locks.
const LOCK_ALL = `
SELECT count(pg_advisory_xact_lock(h)) AS n, (SELECT coalesce(array_agg(scope), '{}') FROM pauses) AS scopes FROM (
  SELECT DISTINCT hashtextextended(name, 0) AS h FROM unnest($1::text[]) AS name ORDER BY 1) AS ordered`;

const HOLDERS = `
SELECT r.id AS run_id_held, r.state AS run_state, r.ended_at AS run_ended_at,
  coalesce((r.plan_json::jsonb ->> 'cancelOnResolve')::boolean, false) AS cancel_on_resolve,
  EXISTS (SELECT 1 FROM escalations e WHERE e.run_id = r.id AND e.reason = 'still_firing') AS still_firing,
  EXISTS (SELECT 1 FROM episodes e WHERE e.fingerprint = r.fingerprint AND e.starts_at = r.starts_at AND e.resolved_at IS NOT NULL) AS resolved, d.*
FROM unnest($1::text[], $2::text[], $3::text[]) AS k(runbook, fingerprint, starts_at)
JOIN runs r ON r.runbook = k.runbook AND r.fingerprint = k.fingerprint AND r.starts_at = k.starts_at
LEFT JOIN decisions d ON d.run_id = r.id AND d.decision = 'run'`;

// Which episodes resolved and the skip decisions that fold their repeats, in one round trip: a row per key and fold, the
// fold's columns null where it has none.
const EPISODES = `
SELECT k.fingerprint AS key_fingerprint, k.starts_at AS key_starts_at, e.resolved_at IS NOT NULL AS episode_resolved, d.*
FROM unnest($1::text[], $2::text[]) AS k(fingerprint, starts_at)
LEFT JOIN episodes e ON e.fingerprint = k.fingerprint AND e.starts_at = k.starts_at
LEFT JOIN decisions d ON d.fingerprint = k.fingerprint AND d.starts_at = k.starts_at AND d.decision = 'skip'`;

type EpisodeRow = Partial<DecisionRow> & { readonly key_fingerprint: string; readonly key_starts_at: string; readonly episode_resolved: boolean };

const PAIRS = `
SELECT k.runbook, k.target,
  (SELECT id FROM runs WHERE runbook = k.runbook AND target = k.target AND state IN ('pending', 'running', 'awaiting_approval')
     ORDER BY created_at, id LIMIT 1) AS active,
  (SELECT count(*) FROM runs WHERE runbook = k.runbook AND target = k.target AND executed AND started_at >= k.since
     AND started_at > coalesce((SELECT budget_reset_at FROM runbook_state WHERE runbook = k.runbook), -1)) AS attempts
FROM unnest($1::text[], $2::text[], $3::bigint[]) AS k(runbook, target, since)`;

const OUTCOMES = `
WITH ended AS (
  SELECT r.runbook, r.target, r.state, r.ended_at,
    row_number() OVER (PARTITION BY r.runbook, r.target ORDER BY r.ended_at DESC, r.id DESC) AS n
  FROM (SELECT DISTINCT runbook, target FROM unnest($1::text[], $2::text[]) AS k(runbook, target)) k
  JOIN runs r ON r.runbook = k.runbook AND r.target = k.target WHERE r.executed AND r.ended_at IS NOT NULL)
SELECT runbook, target, max(CASE WHEN n = 1 THEN ended_at END) AS last_ended,
  coalesce(min(CASE WHEN state NOT IN ('failed', 'interrupted') THEN n END) - 1, count(*)) AS consecutive
FROM ended GROUP BY runbook, target`;

const BREAKERS = `
SELECT runbook, breaker_opened_at, breaker_last_seen_at FROM runbook_state WHERE breaker_opened_at IS NOT NULL AND runbook = ANY($1::text[])`;

// The fleet breaker's window is counted, not listed (it may hold thousands of targets); with it, which of the delivery's own
// targets are in it: one statement, the counts in rows whose target is null.
const TARGETS = `
SELECT k.runbook, NULL::text AS target, (SELECT count(DISTINCT r.target) FROM runs r WHERE r.runbook = k.runbook AND r.created_at >= k.since
  AND r.state <> 'shadow' AND r.created_at > coalesce((SELECT budget_reset_at FROM runbook_state WHERE runbook = k.runbook), -1))::int AS n
FROM unnest($1::text[], $2::bigint[]) AS k(runbook, since)
UNION ALL
SELECT p.runbook, p.target, 0 FROM unnest($3::text[], $4::text[], $5::bigint[]) AS p(runbook, target, since)
WHERE EXISTS (SELECT 1 FROM runs r WHERE r.runbook = p.runbook AND r.target = p.target AND r.created_at >= p.since AND r.state <> 'shadow'
  AND r.created_at > coalesce((SELECT budget_reset_at FROM runbook_state WHERE runbook = p.runbook), -1))`;

/** Columns of [a, b, c] rows, each an array, as unnest takes them. */
function columns(tuples: readonly (readonly unknown[])[], width: number): unknown[][] {
  const out = Array.from({ length: width }, () => [] as unknown[]);
  for (const t of tuples) for (let i = 0; i < width; i++) out[i]?.push(t[i] ?? null);
  return out;
}

/** The runs holding these episodes, by episodeKeyString, without a lock (DeliveryIO.readHeld). */
export async function readHeld(db: Queryable, episodes: readonly EpisodeKey[]): Promise<Map<string, HeldRead>> {
  const held = episodes.filter((k) => k.runbook !== null).map((k) => [k.runbook, k.fingerprint, k.startsAt]);
  // A read whose keys are empty is left out: each statement is a round trip, and most of what a delivery costs here.
  return held.length === 0 ? new Map() : toHolders(await rows<HolderRow>(db, HOLDERS, columns(held, 3)));
}

/** Locks, then reads everything one delivery's guard needs (DeliveryIO.readDelivery); a read whose keys are empty is left out. */
export async function readDelivery(db: Queryable, keys: DeliveryKeys): Promise<DeliverySnapshot> {
  const scopes = (await rows<{ scopes: string[] }>(db, LOCK_ALL, [lockNames(keys)]))[0]?.scopes ?? [];
  const episodes = columns(keys.episodes.map((k) => [k.fingerprint, k.startsAt]), 2);
  const holders = await readHeld(db, keys.episodes);
  const resolved = new Set<string>();
  const folds = new Map<string, ReturnType<typeof toDecision>>();
  for (const row of await rows<EpisodeRow>(db, EPISODES, episodes)) {
    if (row.episode_resolved) resolved.add(resolvedKeyString(row.key_fingerprint, row.key_starts_at));
    if (row.id !== null && row.id !== undefined) {
      const fold = row as DecisionRow;
      folds.set(foldKeyString(fold.fingerprint, fold.starts_at, fold.runbook, fold.reason), toDecision(fold));
    }
  }
  return {
    globalPaused: scopes.includes('*'),
    pausedRunbooks: new Set(scopes.filter((s) => s.startsWith('runbook:')).map((s) => s.slice('runbook:'.length))),
    holders,
    resolved,
    folds,
    pairs: keys.pairs.length === 0 ? new Map() : await readPairs(db, keys),
    ...(keys.runbooks.length === 0 ? { breakers: new Map(), targets: new Map() } : await readRunbooks(db, keys)),
  };
}

async function readPairs(db: Queryable, keys: DeliveryKeys): Promise<DeliverySnapshot['pairs']> {
  const [runbooks, targets, since] = columns(keys.pairs.map((p) => [p.runbook, p.target, p.attemptsSinceMs]), 3);
  const outcomes = new Map<string, { endedAt: number; consecutiveFailures: number }>();
  for (const row of await rows<{ runbook: string; target: string; last_ended: number; consecutive: number }>(db, OUTCOMES, [runbooks, targets])) {
    outcomes.set(pairKeyString(row.runbook, row.target), { endedAt: row.last_ended, consecutiveFailures: row.consecutive });
  }
  const pairs = new Map<string, DeliverySnapshot['pairs'] extends ReadonlyMap<string, infer F> ? F : never>();
  for (const row of await rows<{ runbook: string; target: string; active: string | null; attempts: number }>(db, PAIRS, [runbooks, targets, since])) {
    const key = pairKeyString(row.runbook, row.target);
    pairs.set(key, { activeRunId: row.active, attempts: row.attempts, lastOutcome: outcomes.get(key) ?? null });
  }
  return pairs;
}

async function readRunbooks(db: Queryable, keys: DeliveryKeys): Promise<Pick<DeliverySnapshot, 'breakers' | 'targets'>> {
  const [names, since] = columns(keys.runbooks.map((r) => [r.runbook, r.targetsSinceMs]), 2);
  const breakers = new Map<string, BreakerState>();
  for (const row of await rows<{ runbook: string; breaker_opened_at: number; breaker_last_seen_at: number }>(db, BREAKERS, [names])) {
    breakers.set(row.runbook, { runbook: row.runbook, openedAt: row.breaker_opened_at, lastSeenAt: row.breaker_last_seen_at });
  }
  const windows = new Map(keys.runbooks.map((r) => [r.runbook, r.targetsSinceMs]));
  const asked = columns(keys.pairs.filter((p) => windows.has(p.runbook)).map((p) => [p.runbook, p.target, windows.get(p.runbook)]), 3);
  const targets = new Map<string, { count: number; among: Set<string> }>();
  const found = await rows<{ runbook: string; target: string | null; n: number }>(db, TARGETS, [names, since, ...asked]);
  for (const row of found) if (row.target === null) targets.set(row.runbook, { count: row.n, among: new Set() });
  for (const row of found) if (row.target !== null) targets.get(row.runbook)?.among.add(row.target);
  return { breakers, targets };
}

const INSERT_RUNS = `
INSERT INTO runs (id, runbook, runbook_hash, fault_class, target, pool, mode, state, reason, alertname, fingerprint, starts_at,
  alert_json, params_json, plan_json, not_before, max_pending_age_ms, max_concurrent_per_pool, ended_at, created_at)
SELECT *, $20::bigint FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
  $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[], $17::bigint[], $18::int[], $19::bigint[])`;

const INSERT_DECISIONS = `
INSERT INTO decisions (id, fingerprint, starts_at, alertname, status, runbook, decision, reason, run_id, deliveries, received_at)
SELECT *, $11::bigint FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[])
ON CONFLICT (fingerprint, starts_at, coalesce(runbook, ''), coalesce(reason, '')) WHERE decision = 'skip'
DO UPDATE SET deliveries = decisions.deliveries + excluded.deliveries`;

// Repeats of held episodes add to their rows without an advisory lock (readHeld), so two deliveries may grow the same rows
// at once: the rows are locked in id order first, so that they never wait on each other in a cycle (a deadlock).
const ADD_DELIVERIES = `
WITH locked AS MATERIALIZED (SELECT id FROM decisions WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE)
UPDATE decisions d SET deliveries = d.deliveries + k.n FROM locked JOIN unnest($1::text[], $2::int[]) AS k(id, n) ON k.id = locked.id
WHERE d.id = locked.id RETURNING d.id, d.deliveries`;

/** Writes what one delivery decided (DeliveryIO.writeDelivery); wakes the other replicas when it made runs. */
export async function writeDelivery(db: Queryable, writes: DeliveryWrites, now: number, episodeStart: (startsAt: string) => string): Promise<Map<string, number>> {
  const counted = new Map<string, number>();
  if (writes.resolved.length > 0) {
    const [fingerprints, starts] = columns(writes.resolved.map((r) => [r.fingerprint, r.startsAt]), 2);
    await db.query(
      `INSERT INTO episodes (fingerprint, starts_at, resolved_at) SELECT *, $3::bigint FROM unnest($1::text[], $2::text[])
       ON CONFLICT (fingerprint, starts_at) DO UPDATE SET resolved_at = coalesce(episodes.resolved_at, excluded.resolved_at)`,
      [fingerprints, starts, now],
    );
  }
  if (writes.runs.length > 0) {
    const tuples = writes.runs.map((run) => [
      run.id, run.runbook, run.runbookHash, run.faultClass, run.target, run.pool, run.mode, run.state, run.reason,
      run.alert.labels['alertname'] ?? '', run.alert.fingerprint, episodeStart(run.alert.startsAt),
      JSON.stringify(run.alert), JSON.stringify(run.params), JSON.stringify(run.plan),
      // A shadow run is final at birth, so it has an end like every other final run.
      run.notBefore, run.maxPendingAgeMs, run.maxConcurrentPerPool, run.state === 'shadow' ? now : null,
    ]);
    await db.query(INSERT_RUNS, [...columns(tuples, 19), now]);
    if (writes.runs.some((r) => r.state === 'pending')) await db.query(`SELECT pg_notify('remediator_wake', '')`);
  }
  if (writes.decisions.length > 0) {
    const tuples = writes.decisions.map((d) => [d.id, d.fingerprint, d.startsAt, d.alertname, d.status, d.runbook, d.decision, d.reason, d.runId, d.deliveries]);
    await db.query(INSERT_DECISIONS, [...columns(tuples, 10), now]);
  }
  if (writes.deliveries.size > 0) {
    const [ids, counts] = columns([...writes.deliveries], 2);
    for (const row of await rows<{ id: string; deliveries: number }>(db, ADD_DELIVERIES, [ids, counts])) counted.set(row.id, row.deliveries);
  }
  if (writes.escalations.length > 0) {
    const tuples = writes.escalations.map((e) => [newId(now), e.runbook, e.runId, e.reason, e.target, JSON.stringify(e.alert)]);
    await db.query(
      `INSERT INTO escalations (id, runbook, run_id, reason, target, alert_json, created_at)
       SELECT *, $7::bigint FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])`,
      [...columns(tuples, 6), now],
    );
  }
  for (const [runbook, state] of writes.breakers) {
    await db.query(
      `INSERT INTO runbook_state (runbook, breaker_opened_at, breaker_last_seen_at) VALUES ($1, $2, $3)
       ON CONFLICT (runbook) DO UPDATE SET breaker_opened_at = excluded.breaker_opened_at, breaker_last_seen_at = excluded.breaker_last_seen_at`,
      [runbook, state?.openedAt ?? null, state?.lastSeenAt ?? null],
    );
  }
  return counted;
}
