/**
 * StoreTx over one open READ COMMITTED transaction on a pooled client. What SQLite gets from running one transaction
 * at a time, this gets from transaction-scoped advisory locks on exactly what each decision counts (advisory-locks.ts),
 * from unique indexes, and from conditional UPDATEs; transact reruns the whole transaction when a race is lost.
 */

import { RemediatorError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { canonicalInstant } from '../../core/instant.js';
import type { Decision, GuardReason, RunReason, RunState } from '../../core/run.js';
import type {
  BreakerState, ClaimCandidate, DeliveryIO, DeliveryKeys, DeliverySnapshot, DeliveryWrites, EpisodeHolder, EpisodeKey, HeldRead, NewDecision, NewEscalation, NewRun, StoreTx,
} from '../run-store.js';
import { readDelivery, readHeld, writeDelivery } from './delivery-io.js';
import { toDecision, type DecisionRow } from '../sqlite/rows.js';
import { lockActive, lockClaims, lockEpisode, lockResolved, lockRunbook } from './advisory-locks.js';
import { insertEscalation } from './escalations.js';
import { StaleRowError } from './postgres-errors.js';
import { changed, first, rows, type PgCandidateRow, type Queryable } from './rows.js';
import { closeBreaker, countAttempts, openBreaker, readBreaker, touchBreaker } from './runbook-state.js';

const ACTIVE = `('pending', 'running', 'awaiting_approval')`;
const HOLDING = `('running', 'awaiting_approval')`;

/** pending -> canceled; binds reason, now, id. */
export const CANCEL_PENDING_SQL = `UPDATE runs SET state = 'canceled', reason = $1, ended_at = $2, waiting_for = NULL WHERE id = $3 AND state = 'pending'`;

/** awaiting_approval -> canceled at once: no worker holds such a run, so nothing else would act on a request; binds reason, now, id. */
export const CANCEL_AWAITING_SQL = `UPDATE runs SET state = 'canceled', reason = $1, ended_at = $2, lease_owner = NULL, lease_expires_at = NULL
  WHERE id = $3 AND state = 'awaiting_approval'`;

/** Asks a running run to stop, keeping the first reason; binds reason, id. */
export const REQUEST_CANCEL_SQL = `UPDATE runs SET cancel_requested = coalesce(cancel_requested, $1) WHERE id = $2 AND state IN ${HOLDING}`;

/** Wakes the other replicas' workers; PostgreSQL delivers it when (and only if) the transaction commits. */
export const WAKE_SQL = `SELECT pg_notify('remediator_wake', '')`;

const INSERT_RUN_SQL = `INSERT INTO runs (id, runbook, runbook_hash, fault_class, target, pool, mode, state, reason, alertname, fingerprint, starts_at,
  alert_json, params_json, plan_json, created_at, not_before, max_pending_age_ms, max_concurrent_per_pool, ended_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`;

const CANDIDATE_COLUMNS = `id, runbook, target, created_at, max_pending_age_ms, waiting_for, state, pool, max_concurrent_per_pool,
  waited OR not_before > created_at AS waited`;

/** Reads the pause table; shared by transactions and the store. */
export async function isPaused(db: Queryable, scope: string): Promise<boolean> {
  return (await first(db, 'SELECT 1 FROM pauses WHERE scope = $1', [scope])) !== undefined;
}

/** The pause scope of one runbook. */
export function runbookScope(name: string): string {
  return `runbook:${name}`;
}

/** The episode key's instant in its one spelling (the webhook already sends it so; rows from elsewhere may not). */
export function episodeStart(startsAt: string): string {
  return canonicalInstant(startsAt) ?? startsAt;
}

function toCandidate(r: PgCandidateRow): ClaimCandidate {
  return {
    runId: r.id,
    runbook: r.runbook,
    target: r.target,
    createdAt: r.created_at,
    maxPendingAgeMs: r.max_pending_age_ms,
    resumed: r.state === 'running',
    waitingFor: r.waiting_for as GuardReason | null,
    pool: r.pool,
    maxConcurrentPerPool: r.max_concurrent_per_pool,
    waited: r.waited,
  };
}

/** One transaction's view of the store; valid only until the transaction ends. */
export class PostgresTx implements StoreTx, DeliveryIO {
  constructor(
    private readonly db: Queryable,
    private readonly nowMs: number,
  ) {}

  readHeld(episodes: readonly EpisodeKey[]): Promise<ReadonlyMap<string, HeldRead>> {
    return readHeld(this.db, episodes);
  }

  readDelivery(keys: DeliveryKeys): Promise<DeliverySnapshot> {
    return readDelivery(this.db, keys);
  }

  writeDelivery(writes: DeliveryWrites): Promise<ReadonlyMap<string, number>> {
    return writeDelivery(this.db, writes, this.nowMs, episodeStart);
  }

  now(): number {
    return this.nowMs;
  }

  globalPaused(): Promise<boolean> {
    return isPaused(this.db, '*');
  }

  runbookPaused(name: string): Promise<boolean> {
    return isPaused(this.db, runbookScope(name));
  }

  async findEpisode(runbook: string, fingerprint: string, startsAt: string): Promise<EpisodeHolder | null> {
    const start = episodeStart(startsAt);
    await lockEpisode(this.db, runbook, fingerprint, start);
    const row = await first<{ id: string; state: RunState; ended_at: number | null; decision_id: string | null; cancel_on_resolve: boolean }>(
      this.db,
      `SELECT r.id, r.state, r.ended_at, coalesce((r.plan_json::jsonb ->> 'cancelOnResolve')::boolean, false) AS cancel_on_resolve,
         (SELECT d.id FROM decisions d WHERE d.run_id = r.id AND d.decision = 'run' ORDER BY d.received_at, d.id LIMIT 1) AS decision_id
       FROM runs r WHERE r.runbook = $1 AND r.fingerprint = $2 AND r.starts_at = $3`,
      [runbook, fingerprint, start],
    );
    if (row === undefined) return null;
    if (row.decision_id === null) throw new RemediatorError('INTERNAL', `run ${row.id} holds an episode but no decision created it`);
    return { runId: row.id, decisionId: row.decision_id, state: row.state, endedAt: row.ended_at, cancelOnResolve: row.cancel_on_resolve };
  }

  async episodeResolved(fingerprint: string, startsAt: string): Promise<boolean> {
    const start = episodeStart(startsAt);
    await lockResolved(this.db, fingerprint, start);
    const sql = 'SELECT 1 FROM episodes WHERE fingerprint = $1 AND starts_at = $2 AND resolved_at IS NOT NULL';
    return (await first(this.db, sql, [fingerprint, start])) !== undefined;
  }

  async recordResolved(fingerprint: string, startsAt: string): Promise<void> {
    const start = episodeStart(startsAt);
    await lockResolved(this.db, fingerprint, start);
    await this.db.query(
      `INSERT INTO episodes (fingerprint, starts_at, resolved_at) VALUES ($1, $2, $3)
       ON CONFLICT (fingerprint, starts_at) DO UPDATE SET resolved_at = coalesce(episodes.resolved_at, excluded.resolved_at)`,
      [fingerprint, start, this.nowMs],
    );
  }

  async addDelivery(decisionId: string): Promise<Decision> {
    const row = await first<DecisionRow>(this.db, 'UPDATE decisions SET deliveries = deliveries + 1 WHERE id = $1 RETURNING *', [decisionId]);
    if (row === undefined) throw new RemediatorError('NOT_FOUND', `no decision ${decisionId}`);
    return toDecision(row);
  }

  async activeRunOf(runbook: string, target: string): Promise<string | null> {
    await lockActive(this.db, runbook, target);
    const sql = `SELECT id FROM runs WHERE runbook = $1 AND target = $2 AND state IN ${ACTIVE} ORDER BY created_at, id LIMIT 1`;
    return (await first<{ id: string }>(this.db, sql, [runbook, target]))?.id ?? null;
  }

  attemptsSince(runbook: string, target: string, sinceMs: number): Promise<number> {
    return countAttempts(this.db, runbook, target, sinceMs);
  }

  async lastOutcome(runbook: string, target: string): Promise<{ endedAt: number; consecutiveFailures: number } | null> {
    // The last ended run that executed a step, and how many failed in a row up to it, in one pass over the pair's runs.
    const row = await first<{ last_ended: number | null; consecutive: number }>(
      this.db,
      `WITH ended AS (
         SELECT state, ended_at, row_number() OVER (ORDER BY ended_at DESC, id DESC) AS n
         FROM runs WHERE runbook = $1 AND target = $2 AND executed AND ended_at IS NOT NULL)
       SELECT max(CASE WHEN n = 1 THEN ended_at END) AS last_ended,
         coalesce(min(CASE WHEN state NOT IN ('failed', 'interrupted') THEN n END) - 1, count(*)) AS consecutive
       FROM ended`,
      [runbook, target],
    );
    return row === undefined || row.last_ended === null ? null : { endedAt: row.last_ended, consecutiveFailures: row.consecutive };
  }

  async insertRun(run: NewRun): Promise<void> {
    await this.db.query(INSERT_RUN_SQL, [
      run.id, run.runbook, run.runbookHash, run.faultClass, run.target, run.pool, run.mode, run.state, run.reason,
      run.alert.labels['alertname'] ?? '', run.alert.fingerprint, episodeStart(run.alert.startsAt),
      JSON.stringify(run.alert), JSON.stringify(run.params), JSON.stringify(run.plan),
      // A shadow run is final at birth, so it has an end like every other final run.
      this.nowMs, run.notBefore, run.maxPendingAgeMs, run.maxConcurrentPerPool, run.state === 'shadow' ? this.nowMs : null,
    ]);
    if (run.state === 'pending') await this.db.query(WAKE_SQL);
  }

  async insertDecision(decision: NewDecision): Promise<Decision> {
    const { alert } = decision;
    // A refusal repeated for one (episode, runbook, reason) folds into the first row; a run decision is always its own row.
    const fold =
      decision.decision === 'skip'
        ? `ON CONFLICT (fingerprint, starts_at, coalesce(runbook, ''), coalesce(reason, '')) WHERE decision = 'skip'
           DO UPDATE SET deliveries = decisions.deliveries + 1`
        : '';
    const row = await first<DecisionRow>(
      this.db,
      `INSERT INTO decisions (id, received_at, fingerprint, starts_at, alertname, status, runbook, decision, reason, run_id, deliveries)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1) ${fold} RETURNING *`,
      [newId(this.nowMs), this.nowMs, alert.fingerprint, episodeStart(alert.startsAt), alert.labels['alertname'] ?? '', alert.status,
        decision.runbook, decision.decision, decision.reason, decision.runId],
    );
    if (row === undefined) throw new RemediatorError('INTERNAL', 'INSERT ... RETURNING gave no decision row');
    return toDecision(row);
  }

  async cancelPending(runId: string, reason: RunReason): Promise<boolean> {
    return (await changed(this.db, CANCEL_PENDING_SQL, [reason, this.nowMs, runId])) > 0;
  }

  async cancelAwaiting(runId: string, reason: RunReason): Promise<boolean> {
    return (await changed(this.db, CANCEL_AWAITING_SQL, [reason, this.nowMs, runId])) > 0;
  }

  async requestCancel(runId: string, reason: RunReason): Promise<boolean> {
    return (await changed(this.db, REQUEST_CANCEL_SQL, [reason, runId])) > 0;
  }

  async claimCandidates(limit: number): Promise<ClaimCandidate[]> {
    await lockClaims(this.db);
    const found = await rows<PgCandidateRow>(
      this.db,
      `SELECT * FROM (
         SELECT ${CANDIDATE_COLUMNS} FROM runs WHERE state = 'pending' AND not_before <= $1
         UNION ALL
         SELECT ${CANDIDATE_COLUMNS} FROM runs WHERE state = 'running' AND lease_owner IS NULL
       ) c ORDER BY created_at, id LIMIT $2`,
      [this.nowMs, Math.max(0, Math.floor(limit))],
    );
    return found.map(toCandidate);
  }

  async targetHeld(target: string, exceptRunId: string): Promise<boolean> {
    const sql = `SELECT 1 FROM runs WHERE target = $1 AND state IN ${HOLDING} AND id <> $2 LIMIT 1`;
    return (await first(this.db, sql, [target, exceptRunId])) !== undefined;
  }

  async setWaiting(runId: string, reason: GuardReason): Promise<void> {
    await this.db.query(`UPDATE runs SET waiting_for = $1, waited = true WHERE id = $2 AND state = 'pending'`, [reason, runId]);
  }

  async skipRun(runId: string, reason: GuardReason): Promise<void> {
    const sql = `UPDATE runs SET state = 'skipped', reason = $1, ended_at = $2, waiting_for = NULL WHERE id = $3 AND state = 'pending'`;
    await this.db.query(sql, [reason, this.nowMs, runId]);
  }

  async claim(runId: string, owner: string, leaseMs: number): Promise<number> {
    // Held already when claimCandidates came first; taken here too for a claim that did not scan.
    await lockClaims(this.db);
    const row = await first<{ fence: number }>(
      this.db,
      `UPDATE runs SET state = 'running', reason = NULL, waiting_for = NULL, lease_owner = $1, lease_expires_at = $2::bigint + $3::bigint,
         fence = fence + 1, started_at = coalesce(started_at, $2::bigint)
       WHERE id = $4 AND (state = 'pending' OR (state = 'running' AND lease_owner IS NULL)) RETURNING fence`,
      [owner, this.nowMs, leaseMs, runId],
    );
    // Canceled, claimed or skipped since the candidates were read: the whole claim runs again on fresh rows.
    if (row === undefined) throw new StaleRowError(`run ${runId} is not pending or released, so it cannot be claimed`);
    return row.fence;
  }

  async poolActive(pool: string): Promise<number> {
    return (await first<{ n: number }>(this.db, `SELECT count(*) AS n FROM runs WHERE pool = $1 AND state IN ${HOLDING}`, [pool]))?.n ?? 0;
  }

  async startsSince(sinceMs: number): Promise<number> {
    return (await first<{ n: number }>(this.db, 'SELECT count(*) AS n FROM runs WHERE started_at >= $1', [sinceMs]))?.n ?? 0;
  }

  async targetsSince(runbook: string, sinceMs: number): Promise<string[]> {
    await lockRunbook(this.db, runbook);
    // A reset starts the breaker's window afresh: runs from before it no longer count as targets.
    const sql = `SELECT DISTINCT target FROM runs WHERE runbook = $1 AND created_at >= $2 AND state <> 'shadow'
      AND created_at > coalesce((SELECT budget_reset_at FROM runbook_state WHERE runbook = $1), -1) ORDER BY target`;
    return (await rows<{ target: string }>(this.db, sql, [runbook, sinceMs])).map((r) => r.target);
  }
  async fleetTargets(runbook: string, sinceMs: number, target: string): Promise<{ count: number; includes: boolean }> {
    const targets = await this.targetsSince(runbook, sinceMs);
    return { count: targets.length, includes: targets.includes(target) };
  }


  async breaker(runbook: string): Promise<BreakerState | null> {
    await lockRunbook(this.db, runbook);
    return readBreaker(this.db, runbook);
  }

  async openBreaker(runbook: string): Promise<void> {
    await lockRunbook(this.db, runbook);
    await openBreaker(this.db, runbook, this.nowMs);
  }

  touchBreaker(runbook: string): Promise<void> {
    return touchBreaker(this.db, runbook, this.nowMs);
  }

  closeBreaker(runbook: string): Promise<void> {
    return closeBreaker(this.db, runbook);
  }

  recordEscalation(escalation: NewEscalation): Promise<void> {
    return insertEscalation(this.db, escalation, this.nowMs);
  }

  async escalated(runId: string, reason: string): Promise<boolean> {
    return (await first(this.db, 'SELECT 1 FROM escalations WHERE run_id = $1 AND reason = $2 LIMIT 1', [runId, reason])) !== undefined;
  }
}
