/**
 * The worker's fenced writes and the sweep's reads, each one statement. A write lands only while the run is running
 * under the writer's fence with a lease held; the fence row is locked FOR SHARE (or updated) by that same statement, so a
 * reclaim on another replica either commits before it (and the write finds no row) or waits until it is done.
 */

import type { VerificationRecord } from '../../core/verification.js';
import type { RunReason, RunState, StepResult, StepState, TierState } from '../../core/run.js';
import type { ExpiredRun, LeaseCheck, ProcessRecord, StepKey, StepStart } from '../run-store.js';
import { changed, first, optionalJson, rows, type Queryable } from './rows.js';

const FENCED = `id = $1 AND fence = $2 AND state = 'running' AND lease_owner IS NOT NULL`;
const FENCE_ROW = `f AS (SELECT id FROM runs WHERE ${FENCED} FOR SHARE)`;
const STEP_KEY = 'run_id = f.id AND tier_index = $3 AND phase = $4 AND step_index = $5';
const HELD = 'SELECT EXISTS (SELECT 1 FROM f) AS held';
/** The lease check's other two answers; $1 is the run. */
const LEASE_FACTS = `(SELECT cancel_requested FROM runs WHERE id = $1) AS cancel_requested, EXISTS (SELECT 1 FROM pauses WHERE scope = '*') AS global_paused`;

// PostgreSQL text cannot hold NUL, which a step's output may: it is kept as U+FFFD rather than failing the record.
const storable = (text: string): string => text.replaceAll('\u0000', '\uFFFD');

interface LeaseRow {
  readonly held: boolean;
  readonly cancel_requested: string | null;
  readonly global_paused: boolean;
}

function toLeaseCheck(row: LeaseRow | undefined): LeaseCheck {
  return { held: row?.held === true, cancelRequested: (row?.cancel_requested ?? null) as RunReason | null, globalPaused: row?.global_paused === true };
}

/** The fenced writes of one store; `node` names this machine in the process records it writes and reads back. */
export class WorkerWrites {
  /** The fence each run had when this store's last expiredRuns listed it: what releaseLease may drop. */
  private seenExpired = new Map<string, number>();

  constructor(
    private readonly db: Queryable,
    private readonly node: string,
  ) {}

  /** Renews only a lease that is still alive on the database clock: an expired one may be in another replica's sweep already. */
  async renewLease(runId: string, owner: string, fence: number, leaseMs: number): Promise<LeaseCheck> {
    const row = await first<LeaseRow>(
      this.db,
      `WITH renewed AS (
         UPDATE runs SET lease_expires_at = remediator_now_ms() + $4
         WHERE ${FENCED} AND lease_owner = $3 AND lease_expires_at > remediator_now_ms() RETURNING id)
       SELECT EXISTS (SELECT 1 FROM renewed) AS held, ${LEASE_FACTS}`,
      [runId, fence, owner, leaseMs],
    );
    return toLeaseCheck(row);
  }

  async checkLease(runId: string, owner: string, fence: number): Promise<LeaseCheck> {
    const row = await first<LeaseRow>(
      this.db,
      `SELECT coalesce((SELECT fence = $2 AND lease_owner = $3 AND state = 'running' AND lease_expires_at > remediator_now_ms()
         FROM runs WHERE id = $1), false) AS held, ${LEASE_FACTS}`,
      [runId, fence, owner],
    );
    return toLeaseCheck(row);
  }

  startTier(runId: string, fence: number, tierIndex: number): Promise<boolean> {
    return this.fenced(
      `INSERT INTO run_tiers (run_id, tier_index, state, started_at) SELECT id, $3::integer, 'running', remediator_now_ms() FROM f
       ON CONFLICT (run_id, tier_index) DO UPDATE SET state = 'running', started_at = coalesce(run_tiers.started_at, excluded.started_at), ended_at = NULL`,
      [runId, fence, tierIndex],
    );
  }

  finishTier(runId: string, fence: number, tierIndex: number, state: TierState, verified: boolean): Promise<boolean> {
    return this.fenced(
      `INSERT INTO run_tiers (run_id, tier_index, state, verified, started_at, ended_at)
       SELECT id, $3::integer, $4::text, $5::boolean, remediator_now_ms(), remediator_now_ms() FROM f
       ON CONFLICT (run_id, tier_index) DO UPDATE SET state = excluded.state, verified = excluded.verified, ended_at = excluded.ended_at`,
      [runId, fence, tierIndex, state, verified],
    );
  }

  startStep(runId: string, fence: number, step: StepStart): Promise<boolean> {
    // A re-run (idempotent step after a reclaim) starts from a clean row: every column back to its default.
    return this.fenced(
      `INSERT INTO run_steps (run_id, tier_index, phase, step_index, name, kind, state, argv_json, host, started_at)
       SELECT id, $3::integer, $4::text, $5::integer, $6::text, $7::text, 'running', $8::text, $9::text, remediator_now_ms() FROM f
       ON CONFLICT (run_id, tier_index, phase, step_index) DO UPDATE SET name = excluded.name, kind = excluded.kind, state = 'running',
         argv_json = excluded.argv_json, host = excluded.host, started_at = excluded.started_at, ended_at = NULL, exit_code = NULL,
         signal = NULL, timed_out = false, stopped_by = NULL, stdout = '', stderr = '', stdout_truncated = false, stderr_truncated = false,
         error_json = NULL, evidence_json = NULL, attempts = 0, pgid = NULL, start_ticks = NULL, cgroup = NULL, node = NULL,
         remote_host = NULL, remote_pgid = NULL, remote_start_ticks = NULL`,
      [runId, fence, step.tierIndex, step.phase, step.stepIndex, step.name, step.kind, step.argv === null ? null : JSON.stringify(step.argv), step.host],
    );
  }

  recordProcess(runId: string, fence: number, step: StepKey, process: ProcessRecord): Promise<boolean> {
    const host = process.host ?? null;
    const key = [runId, fence, step.tierIndex, step.phase, step.stepIndex];
    // A remote group has its own columns, so recording it never hides the local ssh client the sweep must kill.
    if (host !== null) {
      const sql = `UPDATE run_steps SET remote_pgid = $6, remote_start_ticks = $7, remote_host = $8 FROM f WHERE ${STEP_KEY}`;
      return this.fenced(sql, [...key, process.pgid, process.startTicks, host]);
    }
    const sql = `UPDATE run_steps SET pgid = $6, start_ticks = $7, cgroup = $8, node = $9 FROM f WHERE ${STEP_KEY}`;
    return this.fenced(sql, [...key, process.pgid, process.startTicks, process.cgroup ?? null, this.node]);
  }

  async finishStep(runId: string, fence: number, step: StepKey, state: StepState, result: StepResult, attempts: number): Promise<boolean> {
    // The run's own row is the fence here: marking it executed locks it as FOR SHARE would.
    const found = await first<{ held: boolean }>(
      this.db,
      `WITH f AS (UPDATE runs SET executed = true WHERE ${FENCED} RETURNING id),
       w AS (
         INSERT INTO run_steps (run_id, tier_index, phase, step_index, state, exit_code, signal, timed_out, stopped_by, stdout, stderr,
           stdout_truncated, stderr_truncated, error_json, evidence_json, host, attempts, started_at, ended_at)
         SELECT id, $3::integer, $4::text, $5::integer, $6::text, $7::integer, $8::text, $9::boolean, $10::text, $11::text, $12::text,
           $13::boolean, $14::boolean, $15::text, $16::text, $17::text, $18::integer, $19::bigint, $20::bigint FROM f
         ON CONFLICT (run_id, tier_index, phase, step_index) DO UPDATE SET state = excluded.state, exit_code = excluded.exit_code,
           signal = excluded.signal, timed_out = excluded.timed_out, stopped_by = excluded.stopped_by, stdout = excluded.stdout,
           stderr = excluded.stderr, stdout_truncated = excluded.stdout_truncated, stderr_truncated = excluded.stderr_truncated,
           error_json = excluded.error_json, evidence_json = excluded.evidence_json, host = coalesce(excluded.host, run_steps.host),
           attempts = excluded.attempts, started_at = coalesce(run_steps.started_at, excluded.started_at), ended_at = excluded.ended_at)
       ${HELD}`,
      [runId, fence, step.tierIndex, step.phase, step.stepIndex, state, result.exitCode, result.signal, result.timedOut, result.stoppedBy,
        storable(result.stdout), storable(result.stderr), result.stdoutTruncated, result.stderrTruncated,
        result.error === null ? null : JSON.stringify(result.error), optionalJson(result.evidence), result.host ?? null, attempts, result.startedAt, result.endedAt],
    );
    return found?.held === true;
  }

  async finishRun(runId: string, fence: number, state: RunState, reason: RunReason | null): Promise<boolean> {
    const sql = `UPDATE runs SET state = $3, reason = $4, ended_at = remediator_now_ms(), lease_owner = NULL, lease_expires_at = NULL, waiting_for = NULL
      WHERE ${FENCED}`;
    return (await changed(this.db, sql, [runId, fence, state, reason])) > 0;
  }

  async markExecuted(runId: string, fence: number): Promise<boolean> {
    return (await changed(this.db, `UPDATE runs SET executed = true WHERE ${FENCED}`, [runId, fence])) > 0;
  }

  recordVerify(runId: string, fence: number, tierIndex: number, verify: VerificationRecord): Promise<boolean> {
    return this.fenced(
      `INSERT INTO run_tiers (run_id, tier_index, state, verify_json, started_at) SELECT id, $3::integer, 'running', $4::text, remediator_now_ms() FROM f
       ON CONFLICT (run_id, tier_index) DO UPDATE SET verify_json = excluded.verify_json`,
      [runId, fence, tierIndex, optionalJson(verify)],
    );
  }

  async awaitApproval(runId: string, fence: number, tierIndex: number, timeoutMs: number): Promise<boolean> {
    // The fence is kept: the lease is simply gone, so the waiting worker's writes fail until a claim takes the run again.
    // A new wait needs a new approval, so an earlier tier's approver is cleared.
    const sql = `UPDATE runs SET state = 'awaiting_approval', lease_owner = NULL, lease_expires_at = NULL, approval_deadline = remediator_now_ms() + $4,
      approval_tier = $3, approved_by = NULL, approved_at = NULL WHERE ${FENCED}`;
    return (await changed(this.db, sql, [runId, fence, tierIndex, timeoutMs])) > 0;
  }

  /**
   * Running runs whose lease expired on the database clock, with the local process groups this machine recorded for
   * their running steps (another machine's pgids mean nothing here; a remote group is bounded by `timeout -k` on its host).
   * includeOtherOwners is ignored: on a shared store another replica's lease stays alive until it expires.
   */
  async expiredRuns(_owner: string, _includeOtherOwners: boolean): Promise<ExpiredRun[]> {
    const expired = await rows<{ id: string; fence: number }>(
      this.db,
      `SELECT id, fence FROM runs WHERE state = 'running' AND lease_owner IS NOT NULL AND lease_expires_at <= remediator_now_ms() ORDER BY created_at, id`,
    );
    this.seenExpired = new Map(expired.map((r) => [r.id, r.fence]));
    const processes = await rows<{ run_id: string; pgid: number; start_ticks: number | null; cgroup: string | null }>(
      this.db,
      `SELECT run_id, pgid, start_ticks, cgroup FROM run_steps WHERE run_id = ANY($1::text[]) AND state = 'running' AND pgid IS NOT NULL AND node = $2
       ORDER BY run_id, tier_index, phase, step_index`,
      [expired.map((r) => r.id), this.node],
    );
    return expired.map(({ id }) => ({
      runId: id,
      processes: processes
        .filter((p) => p.run_id === id)
        .map((p) => ({ pgid: p.pgid, startTicks: p.start_ticks, ...(p.cgroup === null ? {} : { cgroup: p.cgroup }) })),
    }));
  }

  /**
   * Drops the lease and wakes the replicas. A run the last expiredRuns listed is released only while it is still at that
   * fence and still expired on the database clock, so that two sweeping replicas never release a run a third just
   * claimed; a run it did not list (an explicit release) is released as the port says, whoever holds it.
   */
  async releaseLease(runId: string): Promise<void> {
    await this.db.query(
      `WITH released AS (
         UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $1 AND state = 'running' AND lease_owner IS NOT NULL
           AND ($2::integer IS NULL OR (fence = $2 AND lease_expires_at <= remediator_now_ms())) RETURNING id)
       SELECT pg_notify('remediator_wake', '') FROM released`,
      [runId, this.seenExpired.get(runId) ?? null],
    );
  }

  /** Runs a statement that reads the fence row as `f`: true when the fence held, whether or not the write changed a row. */
  private async fenced(write: string, params: readonly unknown[]): Promise<boolean> {
    const found = await first<{ held: boolean }>(this.db, `WITH ${FENCE_ROW}, w AS (${write}) ${HELD}`, params);
    return found?.held === true;
  }
}
