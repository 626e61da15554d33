/** StoreTx over one open SQLite transaction: the guard's facts, read and written under the store's mutex. */

import { RemediatorError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { canonicalInstant } from '../../core/instant.js';
import type { Decision, GuardReason, RunReason, RunState } from '../../core/run.js';
import type {
  BreakerState, ClaimCandidate, DeliveryIO, DeliveryKeys, DeliverySnapshot, DeliveryWrites, EpisodeHolder, EpisodeKey, HeldRead, NewDecision, NewEscalation, NewRun, StoreTx,
} from '../run-store.js';
import { readDelivery, readHeld, writeDelivery } from './delivery-io.js';
import { insertEscalation } from './escalations.js';
import { toDecision, type CandidateRow, type DecisionRow } from './rows.js';
import { closeBreaker, countAttempts, openBreaker, readBreaker, touchBreaker } from './runbook-state.js';
import type { StatementCache } from './statement-cache.js';
import { storeError } from './sqlite-errors.js';

const ACTIVE = `('pending', 'running', 'awaiting_approval')`;
const HOLDING = `('running', 'awaiting_approval')`;

/** pending -> canceled; binds reason, now, id. */
export const CANCEL_PENDING_SQL = `UPDATE runs SET state = 'canceled', reason = ?, ended_at = ?, waiting_for = NULL WHERE id = ? AND state = 'pending'`;

/** awaiting_approval -> canceled at once: no worker holds such a run, so nothing else would act on a request; binds reason, now, id. */
export const CANCEL_AWAITING_SQL = `UPDATE runs SET state = 'canceled', reason = ?, ended_at = ?, lease_owner = NULL, lease_expires_at = NULL
  WHERE id = ? AND state = 'awaiting_approval'`;

/** Asks a running run to stop, keeping the first reason; binds reason, id. */
export const REQUEST_CANCEL_SQL = `UPDATE runs SET cancel_requested = coalesce(cancel_requested, ?) WHERE id = ? AND state IN ${HOLDING}`;

/** Reads the pause table; shared by transactions and the lease check. */
export function isPaused(stmts: StatementCache, scope: string): boolean {
  return stmts.get('SELECT 1 FROM pauses WHERE scope = ?').get(scope) !== undefined;
}

/** The pause scope of one runbook. */
export function runbookScope(name: string): string {
  return `runbook:${name}`;
}

/** The episode key's instant in its one spelling (the webhook already sends it so; rows from elsewhere may not). */
export function episodeStart(startsAt: string): string {
  return canonicalInstant(startsAt) ?? startsAt;
}

/** One transaction's view of the store; valid only until the transaction ends. */
export class SqliteTx implements StoreTx, DeliveryIO {
  constructor(
    private readonly stmts: StatementCache,
    private readonly nowMs: number,
  ) {}

  now(): number {
    return this.nowMs;
  }

  async readHeld(episodes: readonly EpisodeKey[]): Promise<ReadonlyMap<string, HeldRead>> {
    return readHeld(this.stmts, episodes);
  }

  async readDelivery(keys: DeliveryKeys): Promise<DeliverySnapshot> {
    return readDelivery(this.stmts, keys);
  }

  async writeDelivery(writes: DeliveryWrites): Promise<ReadonlyMap<string, number>> {
    try {
      return writeDelivery(this.stmts, writes, this.nowMs);
    } catch (err) {
      throw storeError(err, 'write a delivery');
    }
  }

  async globalPaused(): Promise<boolean> {
    return isPaused(this.stmts, '*');
  }

  async runbookPaused(name: string): Promise<boolean> {
    return isPaused(this.stmts, runbookScope(name));
  }

  async findEpisode(runbook: string, fingerprint: string, startsAt: string): Promise<EpisodeHolder | null> {
    const row = this.stmts
      .get(
        `SELECT r.id, r.state, r.ended_at, json_extract(r.plan_json, '$.cancelOnResolve') AS cancel_on_resolve,
           (SELECT d.id FROM decisions d WHERE d.run_id = r.id AND d.decision = 'run' ORDER BY d.received_at, d.id LIMIT 1) AS decision_id
         FROM runs r WHERE r.runbook = ? AND r.fingerprint = ? AND r.starts_at = ?`,
      )
      .get(runbook, fingerprint, episodeStart(startsAt)) as
      | { id: string; state: RunState; ended_at: number | null; decision_id: string | null; cancel_on_resolve: number | null }
      | undefined;
    if (row === undefined) return null;
    if (row.decision_id === null) {
      throw new RemediatorError('INTERNAL', `run ${row.id} holds an episode but no decision created it`);
    }
    return { runId: row.id, decisionId: row.decision_id, state: row.state, endedAt: row.ended_at, cancelOnResolve: row.cancel_on_resolve === 1 };
  }

  async episodeResolved(fingerprint: string, startsAt: string): Promise<boolean> {
    const sql = 'SELECT 1 FROM episodes WHERE fingerprint = ? AND starts_at = ? AND resolved_at IS NOT NULL';
    return this.stmts.get(sql).get(fingerprint, episodeStart(startsAt)) !== undefined;
  }

  async recordResolved(fingerprint: string, startsAt: string): Promise<void> {
    this.stmts
      .get(
        `INSERT INTO episodes (fingerprint, starts_at, resolved_at) VALUES (?, ?, ?)
         ON CONFLICT (fingerprint, starts_at) DO UPDATE SET resolved_at = coalesce(resolved_at, excluded.resolved_at)`,
      )
      .run(fingerprint, episodeStart(startsAt), this.nowMs);
  }

  async addDelivery(decisionId: string): Promise<Decision> {
    const row = this.stmts.get('UPDATE decisions SET deliveries = deliveries + 1 WHERE id = ? RETURNING *').get(decisionId) as DecisionRow | undefined;
    if (row === undefined) throw new RemediatorError('NOT_FOUND', `no decision ${decisionId}`);
    return toDecision(row);
  }

  async activeRunOf(runbook: string, target: string): Promise<string | null> {
    const id = this.stmts
      .get(`SELECT id FROM runs WHERE runbook = ? AND target = ? AND state IN ${ACTIVE} ORDER BY created_at, id LIMIT 1`)
      .pluck()
      .get(runbook, target) as string | undefined;
    return id ?? null;
  }

  async attemptsSince(runbook: string, target: string, sinceMs: number): Promise<number> {
    return countAttempts(this.stmts, runbook, target, sinceMs);
  }

  async lastOutcome(runbook: string, target: string): Promise<{ endedAt: number; consecutiveFailures: number } | null> {
    const rows = this.stmts
      .get('SELECT state, ended_at FROM runs WHERE runbook = ? AND target = ? AND executed = 1 AND ended_at IS NOT NULL ORDER BY ended_at DESC, id DESC')
      .iterate(runbook, target) as IterableIterator<{ state: RunState; ended_at: number }>;
    let endedAt: number | null = null;
    let consecutiveFailures = 0;
    for (const row of rows) {
      endedAt ??= row.ended_at;
      if (row.state !== 'failed' && row.state !== 'interrupted') break;
      consecutiveFailures++;
    }
    return endedAt === null ? null : { endedAt, consecutiveFailures };
  }

  async insertRun(run: NewRun): Promise<void> {
    try {
      this.stmts
        .get(
          `INSERT INTO runs (id, runbook, runbook_hash, fault_class, target, pool, mode, state, reason, alertname, fingerprint, starts_at,
             alert_json, params_json, plan_json, created_at, not_before, max_pending_age_ms, max_concurrent_per_pool, ended_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          run.id, run.runbook, run.runbookHash, run.faultClass, run.target, run.pool, run.mode, run.state, run.reason,
          run.alert.labels['alertname'] ?? '', run.alert.fingerprint, episodeStart(run.alert.startsAt),
          JSON.stringify(run.alert), JSON.stringify(run.params), JSON.stringify(run.plan),
          // A shadow run is final at birth, so it has an end like every other final run.
          this.nowMs, run.notBefore, run.maxPendingAgeMs, run.maxConcurrentPerPool, run.state === 'shadow' ? this.nowMs : null,
        );
    } catch (err) {
      throw storeError(err, 'insert a run');
    }
  }

  async insertDecision(decision: NewDecision): Promise<Decision> {
    const { alert } = decision;
    // A refusal repeated for one (episode, runbook, reason) folds into the first row; a run decision is always its own row.
    const fold =
      decision.decision === 'skip'
        ? `ON CONFLICT (fingerprint, starts_at, coalesce(runbook, ''), coalesce(reason, '')) WHERE decision = 'skip'
           DO UPDATE SET deliveries = deliveries + 1`
        : '';
    const row = this.stmts
      .get(
        `INSERT INTO decisions (id, received_at, fingerprint, starts_at, alertname, status, runbook, decision, reason, run_id, deliveries)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) ${fold} RETURNING *`,
      )
      .get(
        newId(this.nowMs), this.nowMs, alert.fingerprint, episodeStart(alert.startsAt), alert.labels['alertname'] ?? '', alert.status,
        decision.runbook, decision.decision, decision.reason, decision.runId,
      ) as DecisionRow;
    return toDecision(row);
  }

  async cancelPending(runId: string, reason: RunReason): Promise<boolean> {
    return this.stmts.get(CANCEL_PENDING_SQL).run(reason, this.nowMs, runId).changes > 0;
  }

  async cancelAwaiting(runId: string, reason: RunReason): Promise<boolean> {
    return this.stmts.get(CANCEL_AWAITING_SQL).run(reason, this.nowMs, runId).changes > 0;
  }

  async requestCancel(runId: string, reason: RunReason): Promise<boolean> {
    return this.stmts.get(REQUEST_CANCEL_SQL).run(reason, runId).changes > 0;
  }

  async claimCandidates(limit: number): Promise<ClaimCandidate[]> {
    const columns = `id, runbook, target, created_at, max_pending_age_ms, waiting_for, state, pool, max_concurrent_per_pool,
      waited OR not_before > created_at AS waited`;
    const rows = this.stmts
      .get(
        `SELECT * FROM (
           SELECT ${columns} FROM runs WHERE state = 'pending' AND not_before <= ?
           UNION ALL
           SELECT ${columns} FROM runs WHERE state = 'running' AND lease_owner IS NULL
         ) ORDER BY created_at, id LIMIT ?`,
      )
      .all(this.nowMs, Math.max(0, limit)) as CandidateRow[];
    return rows.map((r) => ({
      runId: r.id,
      runbook: r.runbook,
      target: r.target,
      createdAt: r.created_at,
      maxPendingAgeMs: r.max_pending_age_ms,
      resumed: r.state === 'running',
      waitingFor: r.waiting_for as GuardReason | null,
      pool: r.pool,
      maxConcurrentPerPool: r.max_concurrent_per_pool,
      waited: r.waited === 1,
    }));
  }

  async targetHeld(target: string, exceptRunId: string): Promise<boolean> {
    const sql = `SELECT 1 FROM runs WHERE target = ? AND state IN ${HOLDING} AND id <> ? LIMIT 1`;
    return this.stmts.get(sql).get(target, exceptRunId) !== undefined;
  }

  async setWaiting(runId: string, reason: GuardReason): Promise<void> {
    this.stmts.get(`UPDATE runs SET waiting_for = ?, waited = 1 WHERE id = ? AND state = 'pending'`).run(reason, runId);
  }

  async skipRun(runId: string, reason: GuardReason): Promise<void> {
    const sql = `UPDATE runs SET state = 'skipped', reason = ?, ended_at = ?, waiting_for = NULL WHERE id = ? AND state = 'pending'`;
    this.stmts.get(sql).run(reason, this.nowMs, runId);
  }

  async claim(runId: string, owner: string, leaseMs: number): Promise<number> {
    let fence: number | undefined;
    try {
      fence = this.stmts
        .get(
          `UPDATE runs SET state = 'running', reason = NULL, waiting_for = NULL, lease_owner = ?, lease_expires_at = ?,
             fence = fence + 1, started_at = coalesce(started_at, ?)
           WHERE id = ? AND (state = 'pending' OR (state = 'running' AND lease_owner IS NULL)) RETURNING fence`,
        )
        .pluck()
        .get(owner, this.nowMs + leaseMs, this.nowMs, runId) as number | undefined;
    } catch (err) {
      throw storeError(err, 'claim a run');
    }
    if (fence === undefined) throw new RemediatorError('CONFLICT', `run ${runId} is not pending or released, so it cannot be claimed`);
    return fence;
  }

  async poolActive(pool: string): Promise<number> {
    return this.stmts.get(`SELECT count(*) FROM runs WHERE pool = ? AND state IN ${HOLDING}`).pluck().get(pool) as number;
  }

  async startsSince(sinceMs: number): Promise<number> {
    return this.stmts.get('SELECT count(*) FROM runs WHERE started_at >= ?').pluck().get(sinceMs) as number;
  }

  async targetsSince(runbook: string, sinceMs: number): Promise<string[]> {
    // A reset starts the breaker's window afresh: runs from before it no longer count as targets.
    const sql = `SELECT DISTINCT target FROM runs WHERE runbook = ? AND created_at >= ? AND state <> 'shadow'
      AND created_at > coalesce((SELECT budget_reset_at FROM runbook_state WHERE runbook = ?), -1) ORDER BY target`;
    return this.stmts.get(sql).pluck().all(runbook, sinceMs, runbook) as string[];
  }
  async fleetTargets(runbook: string, sinceMs: number, target: string): Promise<{ count: number; includes: boolean }> {
    const targets = await this.targetsSince(runbook, sinceMs);
    return { count: targets.length, includes: targets.includes(target) };
  }


  async breaker(runbook: string): Promise<BreakerState | null> {
    return readBreaker(this.stmts, runbook);
  }

  async openBreaker(runbook: string): Promise<void> {
    openBreaker(this.stmts, runbook, this.nowMs);
  }

  async touchBreaker(runbook: string): Promise<void> {
    touchBreaker(this.stmts, runbook, this.nowMs);
  }

  async closeBreaker(runbook: string): Promise<void> {
    closeBreaker(this.stmts, runbook);
  }

  async recordEscalation(escalation: NewEscalation): Promise<void> {
    insertEscalation(this.stmts, escalation, this.nowMs);
  }

  async escalated(runId: string, reason: string): Promise<boolean> {
    return this.stmts.get('SELECT 1 FROM escalations WHERE run_id = ? AND reason = ? LIMIT 1').get(runId, reason) !== undefined;
  }
}
