/** The worker's fenced writes and the sweep's reads: each a single statement or a tiny synchronous transaction. */

import type { VerificationRecord } from '../../core/verification.js';
import type Database from 'better-sqlite3';
import type { RunReason, RunState, StepResult, StepState, TierState } from '../../core/run.js';
import type { ExpiredRun, LeaseCheck, ProcessRecord, StepKey, StepStart } from '../run-store.js';
import type { StatementCache } from './statement-cache.js';
import { isPaused } from './sqlite-tx.js';

// A write is the lease holder's only while the fence is unchanged and the lease has not been dropped.
const FENCED = 'id = ? AND fence = ? AND lease_owner IS NOT NULL';
const STEP_KEY = 'run_id = ? AND tier_index = ? AND phase = ? AND step_index = ?';

/** The fenced writes of one connection; `now` is the store's clock. */
export class WorkerWrites {
  constructor(
    private readonly db: Database.Database,
    private readonly stmts: StatementCache,
    private readonly now: () => number,
  ) {}

  renewLease(runId: string, owner: string, fence: number, leaseMs: number): LeaseCheck {
    const held = this.stmts
      .get(`UPDATE runs SET lease_expires_at = ? WHERE ${FENCED} AND lease_owner = ? AND state IN ('running', 'awaiting_approval')`)
      .run(this.now() + leaseMs, runId, fence, owner).changes > 0;
    const cancel = this.stmts.get('SELECT cancel_requested FROM runs WHERE id = ?').pluck().get(runId) as string | null | undefined;
    return { held, cancelRequested: (cancel ?? null) as RunReason | null, globalPaused: isPaused(this.stmts, '*') };
  }

  checkLease(runId: string, owner: string, fence: number): LeaseCheck {
    const row = this.stmts
      .get(
        `SELECT (fence = ? AND lease_owner = ? AND lease_expires_at > ? AND state IN ('running', 'awaiting_approval')) AS held, cancel_requested
         FROM runs WHERE id = ?`,
      )
      .get(fence, owner, this.now(), runId) as { held: number; cancel_requested: string | null } | undefined;
    return { held: row?.held === 1, cancelRequested: (row?.cancel_requested ?? null) as RunReason | null, globalPaused: isPaused(this.stmts, '*') };
  }

  startTier(runId: string, fence: number, tierIndex: number): boolean {
    return this.fenced(runId, fence, () => {
      this.stmts
        .get(
          `INSERT INTO run_tiers (run_id, tier_index, state, started_at) VALUES (?, ?, 'running', ?)
           ON CONFLICT (run_id, tier_index) DO UPDATE SET state = 'running', started_at = coalesce(started_at, excluded.started_at), ended_at = NULL`,
        )
        .run(runId, tierIndex, this.now());
    });
  }

  finishTier(runId: string, fence: number, tierIndex: number, state: TierState, verified: boolean): boolean {
    return this.fenced(runId, fence, () => {
      const now = this.now();
      this.stmts
        .get(
          `INSERT INTO run_tiers (run_id, tier_index, state, verified, started_at, ended_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id, tier_index) DO UPDATE SET state = excluded.state, verified = excluded.verified, ended_at = excluded.ended_at`,
        )
        .run(runId, tierIndex, state, verified ? 1 : 0, now, now);
    });
  }

  startStep(runId: string, fence: number, step: StepStart): boolean {
    return this.fenced(runId, fence, () => {
      // A re-run (idempotent step after a reclaim) starts from a clean row.
      this.stmts.get(`DELETE FROM run_steps WHERE ${STEP_KEY}`).run(runId, step.tierIndex, step.phase, step.stepIndex);
      this.stmts
        .get(
          `INSERT INTO run_steps (run_id, tier_index, phase, step_index, name, kind, state, argv_json, host, started_at)
           VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)`,
        )
        .run(runId, step.tierIndex, step.phase, step.stepIndex, step.name, step.kind,
          step.argv === null ? null : JSON.stringify(step.argv), step.host, this.now());
    });
  }

  recordProcess(runId: string, fence: number, step: StepKey, process: ProcessRecord): boolean {
    const host = process.host ?? null;
    // A remote group has its own columns, so recording it never hides the local ssh client the sweep must kill.
    const sql = host === null
      ? `UPDATE run_steps SET pgid = ?, start_ticks = ?, cgroup = ? WHERE ${STEP_KEY}`
      : `UPDATE run_steps SET remote_pgid = ?, remote_start_ticks = ?, remote_host = ? WHERE ${STEP_KEY}`;
    const binds = host === null ? [process.pgid, process.startTicks, process.cgroup ?? null] : [process.pgid, process.startTicks, host];
    return this.fenced(runId, fence, () => {
      this.stmts.get(sql).run(...binds, runId, step.tierIndex, step.phase, step.stepIndex);
    });
  }

  finishStep(runId: string, fence: number, step: StepKey, state: StepState, result: StepResult, attempts: number): boolean {
    return this.fenced(runId, fence, () => {
      this.stmts.get('UPDATE runs SET executed = 1 WHERE id = ?').run(runId);
      this.stmts
        .get(
          `INSERT INTO run_steps (run_id, tier_index, phase, step_index, state, exit_code, signal, timed_out, stopped_by, stdout, stderr,
             stdout_truncated, stderr_truncated, error_json, evidence_json, host, attempts, started_at, ended_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id, tier_index, phase, step_index) DO UPDATE SET state = excluded.state, exit_code = excluded.exit_code,
             signal = excluded.signal, timed_out = excluded.timed_out, stopped_by = excluded.stopped_by, stdout = excluded.stdout,
             stderr = excluded.stderr, stdout_truncated = excluded.stdout_truncated, stderr_truncated = excluded.stderr_truncated,
             error_json = excluded.error_json, evidence_json = excluded.evidence_json, host = coalesce(excluded.host, run_steps.host),
             attempts = excluded.attempts,
             started_at = coalesce(run_steps.started_at, excluded.started_at), ended_at = excluded.ended_at`,
        )
        .run(runId, step.tierIndex, step.phase, step.stepIndex, state, result.exitCode, result.signal, result.timedOut ? 1 : 0,
          result.stoppedBy, result.stdout, result.stderr, result.stdoutTruncated ? 1 : 0, result.stderrTruncated ? 1 : 0,
          result.error === null ? null : JSON.stringify(result.error), optionalJson(result.evidence), result.host ?? null, attempts, result.startedAt, result.endedAt);
    });
  }

  finishRun(runId: string, fence: number, state: RunState, reason: RunReason | null): boolean {
    const sql = `UPDATE runs SET state = ?, reason = ?, ended_at = ?, lease_owner = NULL, lease_expires_at = NULL, waiting_for = NULL WHERE ${FENCED}`;
    return this.stmts.get(sql).run(state, reason, this.now(), runId, fence).changes > 0;
  }

  markExecuted(runId: string, fence: number): boolean {
    return this.stmts.get(`UPDATE runs SET executed = 1 WHERE ${FENCED}`).run(runId, fence).changes > 0;
  }

  recordVerify(runId: string, fence: number, tierIndex: number, verify: VerificationRecord): boolean {
    return this.fenced(runId, fence, () => {
      this.stmts
        .get(
          `INSERT INTO run_tiers (run_id, tier_index, state, verify_json, started_at) VALUES (?, ?, 'running', ?, ?)
           ON CONFLICT (run_id, tier_index) DO UPDATE SET verify_json = excluded.verify_json`,
        )
        .run(runId, tierIndex, optionalJson(verify), this.now());
    });
  }

  awaitApproval(runId: string, fence: number, tierIndex: number, timeoutMs: number): boolean {
    // The fence is kept: the lease is simply gone, so the waiting worker's writes fail until a claim takes the run again.
    // A new wait needs a new approval, so an earlier tier's approver is cleared.
    const sql = `UPDATE runs SET state = 'awaiting_approval', lease_owner = NULL, lease_expires_at = NULL, approval_deadline = ?,
      approval_tier = ?, approved_by = NULL, approved_at = NULL WHERE ${FENCED} AND state = 'running'`;
    return this.stmts.get(sql).run(this.now() + timeoutMs, tierIndex, runId, fence).changes > 0;
  }

  expiredRuns(owner: string, includeOtherOwners: boolean): ExpiredRun[] {
    const runIds = this.stmts
      .get(
        `SELECT id FROM runs WHERE state = 'running' AND lease_owner IS NOT NULL
           AND (lease_expires_at < ? OR (? = 1 AND lease_owner <> ?)) ORDER BY created_at, id`,
      )
      .pluck()
      .all(this.now(), includeOtherOwners ? 1 : 0, owner) as string[];
    // Only local groups: a remote one is bounded by `timeout -k` on its host, and its pgid means nothing here.
    const processes = this.stmts.get(`SELECT pgid, start_ticks, cgroup FROM run_steps WHERE run_id = ? AND state = 'running' AND pgid IS NOT NULL`);
    return runIds.map((runId) => ({
      runId,
      processes: (processes.all(runId) as Array<{ pgid: number; start_ticks: number | null; cgroup: string | null }>).map((p) => ({
        pgid: p.pgid,
        startTicks: p.start_ticks,
        ...(p.cgroup === null ? {} : { cgroup: p.cgroup }),
      })),
    }));
  }

  releaseLease(runId: string): void {
    this.stmts.get(`UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND state = 'running'`).run(runId);
  }

  /** Runs write in one transaction when the fence still holds; false when it does not. */
  private fenced(runId: string, fence: number, write: () => void): boolean {
    return this.db.transaction(() => {
      if (this.stmts.get(`SELECT 1 FROM runs WHERE ${FENCED}`).get(runId, fence) === undefined) return false;
      write();
      return true;
    })();
  }
}

/** The JSON of a step's evidence or a tier's verification, or null when there is none. */
function optionalJson(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}
