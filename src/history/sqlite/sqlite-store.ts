/** The SQLite adapter of the RunStore port: one WAL file, owned by one process, one transaction at a time. */

import type { VerificationRecord } from '../../core/verification.js';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { systemClock, type Clock } from '../../core/clock.js';
import { RemediatorError, toError } from '../../core/errors.js';
import type { Decision, RunDetail, RunReason, RunState, RunSummary, StepResult, StepState, TierState } from '../../core/run.js';
import type {
  BreakerState, DecisionFilter, EpisodeFacts, Escalation, ExpiredRun, LeaderRole, LeaseCheck, NewEscalation, Page, PageOf, ProcessRecord, PruneCounts, RunCounts, RunFilter, RunReport, RunStore,
  StepKey, StepStart, StoreCapabilities, StoreTx,
} from '../run-store.js';
import { AsyncMutex } from './async-mutex.js';
import { insertEscalation, markEscalation, pendingEscalations } from './escalations.js';
import { listDecisions, listEscalations, listRuns } from './list-queries.js';
import { applyMigrations } from './migrations.js';
import { approveRun, cancelRun, expireApprovals } from './run-control.js';
import { readRunDetail } from './run-detail.js';
import { countRuns } from './run-counts.js';
import { pruneBatch } from './retention.js';
import { setRunReport } from './run-report.js';
import { readOpenBreakers, resetRunbook } from './runbook-state.js';
import { isLockError, storeError } from './sqlite-errors.js';
import { episodeStart, isPaused, runbookScope, SqliteTx } from './sqlite-tx.js';
import { StatementCache } from './statement-cache.js';
import { WorkerWrites } from './worker-writes.js';

export interface SqliteRunStoreOptions {
  /** Path of the database file; its directory is created when missing. */
  readonly path: string;
  /** The store's clock: every time the store records comes from it. Default: the system clock. */
  readonly clock?: Clock;
}

interface Connection {
  readonly db: Database.Database;
  readonly stmts: StatementCache;
  readonly writes: WorkerWrites;
}

// Only another process can contend for an exclusive-mode file, so waiting long would only delay the refusal.
const BUSY_TIMEOUT_MS = 250;

/** A transaction waiting for its group commit. */
interface Waiting {
  readonly fn: (tx: StoreTx) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
}

/** The most transactions one group commit holds. */
const MAX_GROUP = 64;

/** A RunStore on one SQLite file; all access goes through one async mutex, so a StoreTx never interleaves with anything. */
export class SqliteRunStore implements RunStore {
  readonly capabilities: StoreCapabilities = { singleProcess: true };
  private readonly path: string;
  private readonly clock: Clock;
  private readonly mutex = new AsyncMutex();
  /** Transactions waiting for the next group commit. */
  private readonly waiting: Waiting[] = [];
  private conn: Connection | null = null;

  constructor(options: SqliteRunStoreOptions) {
    this.path = options.path;
    this.clock = options.clock ?? systemClock;
  }

  async open(): Promise<void> {
    if (this.conn !== null) return;
    let db: Database.Database | null = null;
    try {
      fs.mkdirSync(path.dirname(path.resolve(this.path)), { recursive: true });
      db = new Database(this.path, { timeout: BUSY_TIMEOUT_MS });
      this.prepare(db);
    } catch (err) {
      db?.close();
      if (isLockError(err)) {
        throw new RemediatorError('STORE_LOCKED', `SQLite file ${this.path} is held by another process; one SQLite file serves one process`, { cause: err });
      }
      throw storeError(err, `open ${this.path}`);
    }
    const stmts = new StatementCache(db);
    this.conn = { db, stmts, writes: new WorkerWrites(db, stmts, () => this.clock.now()) };
  }

  /** Sets the connection up and takes the file for this process. */
  private prepare(db: Database.Database): void {
    // EXCLUSIVE before WAL: the WAL index then lives in process memory and the file lock is never released,
    // which is what makes a second process fail here rather than share the file (SPEC §9).
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    // NORMAL: a commit is in the WAL (the OS's page cache) before the 2xx, so kill -9 of the process loses nothing;
    // only an OS crash or power loss can drop the last commits. FULL would add an fsync to every webhook delivery.
    db.pragma('synchronous = NORMAL');
    applyMigrations(db);
    // A write takes the exclusive lock now, even when no migration was due, and holds it until close.
    db.prepare('INSERT INTO store_owner (id, pid, opened_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, opened_at = excluded.opened_at')
      .run(process.pid, this.clock.now());
  }

  async close(): Promise<void> {
    // A group deferred to the end of this loop turn (transact) is queued on the mutex by then.
    await new Promise((resolve) => setImmediate(resolve));
    await this.mutex.drain();
    const conn = this.conn;
    this.conn = null;
    conn?.db.close();
  }

  async ping(): Promise<void> {
    await this.use('answer', (c) => c.stmts.get('SELECT 1').get());
  }

  async now(): Promise<number> {
    return this.clock.now();
  }

  /**
   * Group commit: the transactions that wait while one runs are run together in the next one, each inside its own
   * savepoint, and committed at once, so that a burst of deliveries pays for one COMMIT (the WAL write) instead of one
   * each. Each still sees the writes of those before it, as one after another would; one that fails is rolled back to
   * its savepoint alone. Each resolves only once the COMMIT that holds it is done, and rejects when that COMMIT fails.
   * A group starts at the end of the loop turn its first transaction came in: every request whose body was read in the
   * same turn joins it (with the mutex free, a group would otherwise start at once and hold one transaction).
   */
  transact<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (this.waiting.length === 1) setImmediate(() => this.scheduleGroup());
    });
  }

  private scheduleGroup(): void {
    void this.mutex.run(async () => {
      const batch = this.waiting.splice(0, MAX_GROUP);
      if (this.waiting.length > 0) this.scheduleGroup();
      try {
        await this.commitGroup(batch);
      } catch (err) {
        // Only a ROLLBACK that itself failed gets here; nothing of the group is left unanswered (a settled promise ignores it).
        for (const item of batch) item.reject(storeError(err, 'run a transaction'));
      }
    });
  }

  private async commitGroup(batch: Waiting[]): Promise<void> {
    let conn: Connection;
    try {
      conn = this.connection();
    } catch (err) {
      for (const item of batch) item.reject(err);
      return;
    }
    const { db, stmts } = conn;
    let done: { item: Waiting; result: unknown }[] = [];
    let rest = batch;
    const rejectAll = (err: unknown): void => {
      for (const d of done) d.item.reject(err);
      for (const item of rest) item.reject(err);
      done = [];
      rest = [];
    };
    const begin = (): boolean => {
      try {
        stmts.get('BEGIN IMMEDIATE').run();
        return true;
      } catch (err) {
        rejectAll(storeError(err, 'begin a transaction'));
        return false;
      }
    };
    if (!begin()) return;
    const grouped = batch.length > 1;
    while (rest.length > 0) {
      const [item, ...others] = rest;
      rest = others;
      if (item === undefined) break;
      try {
        if (grouped) stmts.get('SAVEPOINT delivery').run();
        const result = await item.fn(new SqliteTx(stmts, this.clock.now()));
        if (grouped) stmts.get('RELEASE delivery').run();
        done.push({ item, result });
      } catch (err) {
        item.reject(storeError(err, 'run a transaction'));
        try {
          if (db.inTransaction && grouped) {
            stmts.get('ROLLBACK TO delivery').run();
            stmts.get('RELEASE delivery').run();
          } else if (db.inTransaction) {
            stmts.get('ROLLBACK').run();
          }
        } catch {
          if (db.inTransaction) stmts.get('ROLLBACK').run();
        }
        if (!db.inTransaction && done.length > 0) {
          // SQLite rolled the whole transaction back by itself (SQLITE_FULL, SQLITE_IOERR...): what it held is gone too.
          const lost = new RemediatorError('STORE_UNAVAILABLE', `SQLite rolled back a group of transactions: ${toError(err).message}`, { cause: err });
          for (const d of done) d.item.reject(lost);
          done = [];
        }
        if (!db.inTransaction && rest.length > 0 && !begin()) return;
      }
    }
    if (!db.inTransaction) return;
    try {
      stmts.get('COMMIT').run();
    } catch (err) {
      if (db.inTransaction) stmts.get('ROLLBACK').run();
      rejectAll(new RemediatorError('STORE_UNAVAILABLE', `SQLite store could not commit: ${toError(err).message}`, { cause: err }));
      return;
    }
    for (const d of done) d.item.resolve(d.result);
  }

  renewLease(runId: string, owner: string, fence: number, leaseMs: number): Promise<LeaseCheck> {
    return this.use('renew a lease', (c) => c.writes.renewLease(runId, owner, fence, leaseMs));
  }

  checkLease(runId: string, owner: string, fence: number): Promise<LeaseCheck> {
    return this.use('check a lease', (c) => c.writes.checkLease(runId, owner, fence));
  }

  startTier(runId: string, fence: number, tierIndex: number): Promise<boolean> {
    return this.use('start a tier', (c) => c.writes.startTier(runId, fence, tierIndex));
  }

  finishTier(runId: string, fence: number, tierIndex: number, state: TierState, verified: boolean): Promise<boolean> {
    return this.use('finish a tier', (c) => c.writes.finishTier(runId, fence, tierIndex, state, verified));
  }

  startStep(runId: string, fence: number, step: StepStart): Promise<boolean> {
    return this.use('start a step', (c) => c.writes.startStep(runId, fence, step));
  }

  recordProcess(runId: string, fence: number, step: StepKey, process: ProcessRecord): Promise<boolean> {
    return this.use('record a process', (c) => c.writes.recordProcess(runId, fence, step, process));
  }

  finishStep(runId: string, fence: number, step: StepKey, state: StepState, result: StepResult, attempts: number): Promise<boolean> {
    return this.use('finish a step', (c) => c.writes.finishStep(runId, fence, step, state, result, attempts));
  }

  finishRun(runId: string, fence: number, state: RunState, reason: RunReason | null): Promise<boolean> {
    return this.use('finish a run', (c) => c.writes.finishRun(runId, fence, state, reason));
  }

  markExecuted(runId: string, fence: number): Promise<boolean> {
    return this.use('mark a run executed', (c) => c.writes.markExecuted(runId, fence));
  }

  recordVerify(runId: string, fence: number, tierIndex: number, verify: VerificationRecord): Promise<boolean> {
    return this.use('record a verification', (c) => c.writes.recordVerify(runId, fence, tierIndex, verify));
  }

  awaitApproval(runId: string, fence: number, tierIndex: number, timeoutMs: number): Promise<boolean> {
    return this.use('wait for approval', (c) => c.writes.awaitApproval(runId, fence, tierIndex, timeoutMs));
  }

  setRunReport(runId: string, report: RunReport): Promise<void> {
    return this.use('record a report', (c) => setRunReport(c.stmts, runId, report));
  }

  pendingEscalations(limit: number): Promise<Escalation[]> {
    return this.use('list pending escalations', (c) => pendingEscalations(c.stmts, limit));
  }

  markEscalation(id: string, outcome: { readonly posted: boolean; readonly error: string | null }): Promise<void> {
    return this.use('mark an escalation', (c) => markEscalation(c.stmts, id, outcome, this.clock.now()));
  }

  expiredRuns(owner: string, includeOtherOwners: boolean): Promise<ExpiredRun[]> {
    return this.use('list expired runs', (c) => c.writes.expiredRuns(owner, includeOtherOwners));
  }

  releaseLease(runId: string): Promise<void> {
    return this.use('release a lease', (c) => c.writes.releaseLease(runId));
  }

  getRun(id: string): Promise<RunDetail | null> {
    return this.use('read a run', (c) => readRunDetail(c.stmts, id));
  }

  listRuns(filter: RunFilter, page: Page): Promise<PageOf<RunSummary>> {
    return this.use('list runs', (c) => listRuns(c.stmts, filter, page));
  }

  listDecisions(filter: DecisionFilter, page: Page): Promise<PageOf<Decision>> {
    return this.use('list decisions', (c) => listDecisions(c.stmts, filter, page));
  }

  cancelRun(id: string, reason: RunReason): Promise<RunState | null> {
    return this.use('cancel a run', (c) => cancelRun(c.db, c.stmts, id, reason, this.clock.now()));
  }

  approveRun(id: string, who: string): Promise<RunState | null> {
    return this.use('approve a run', (c) => approveRun(c.db, c.stmts, id, who, this.clock.now()));
  }

  expireApprovals(): Promise<RunDetail[]> {
    return this.use('expire approval waits', (c) => expireApprovals(c.db, c.stmts, this.clock.now()));
  }

  setGlobalPause(paused: boolean): Promise<void> {
    return this.use('set the global pause', (c) => this.setPause(c, '*', paused));
  }

  globalPaused(): Promise<boolean> {
    return this.use('read the global pause', (c) => isPaused(c.stmts, '*'));
  }

  setRunbookPause(name: string, paused: boolean): Promise<void> {
    return this.use('set a runbook pause', (c) => this.setPause(c, runbookScope(name), paused));
  }

  pausedRunbooks(): Promise<Set<string>> {
    return this.use('read runbook pauses', (c) => {
      const scopes = c.stmts.get(`SELECT scope FROM pauses WHERE scope LIKE 'runbook:%'`).pluck().all() as string[];
      return new Set(scopes.map((s) => s.slice('runbook:'.length)));
    });
  }

  resetRunbook(name: string): Promise<void> {
    return this.use('reset a runbook', (c) => resetRunbook(c.stmts, name, this.clock.now()));
  }

  openBreakers(): Promise<Map<string, BreakerState>> {
    return this.use('read open breakers', (c) => readOpenBreakers(c.stmts));
  }

  recordEscalation(escalation: NewEscalation): Promise<void> {
    return this.use('record an escalation', (c) => insertEscalation(c.stmts, escalation, this.clock.now()));
  }

  episodeFacts(fingerprint: string, startsAt: string): Promise<EpisodeFacts> {
    return this.use('read an episode', (c) => {
      const row = c.stmts
        .get('SELECT resolved_at, prometheus_seen_at FROM episodes WHERE fingerprint = ? AND starts_at = ?')
        .get(fingerprint, episodeStart(startsAt)) as { resolved_at: number | null; prometheus_seen_at: number | null } | undefined;
      return { resolvedAt: row?.resolved_at ?? null, prometheusSeenAt: row?.prometheus_seen_at ?? null };
    });
  }

  recordPrometheusSighting(fingerprint: string, startsAt: string): Promise<void> {
    return this.use('record a sighting', (c) => {
      c.stmts
        .get(
          `INSERT INTO episodes (fingerprint, starts_at, prometheus_seen_at) VALUES (?, ?, ?)
           ON CONFLICT (fingerprint, starts_at) DO UPDATE SET prometheus_seen_at = excluded.prometheus_seen_at`,
        )
        .run(fingerprint, episodeStart(startsAt), this.clock.now());
    });
  }

  runCounts(): Promise<RunCounts> {
    return this.use('count runs', (c) => countRuns(c.stmts, this.clock.now()));
  }

  listEscalations(filter: { readonly runbook?: string; readonly runId?: string }, page: Page): Promise<PageOf<Escalation>> {
    return this.use('list escalations', (c) => listEscalations(c.stmts, filter, page));
  }

  holdLeadership(role: LeaderRole, owner: string, termMs: number): Promise<boolean> {
    return this.use('hold a leadership', (c) => {
      const now = this.clock.now();
      // Take it when free or run out (a new term), renew it when ours: one statement, as on PostgreSQL.
      const row = c.stmts
        .get(
          `INSERT INTO leadership (role, holder, term, expires_at) VALUES (?, ?, 1, ?)
           ON CONFLICT (role) DO UPDATE SET
             term = CASE WHEN leadership.holder = excluded.holder AND leadership.expires_at > ? THEN leadership.term ELSE leadership.term + 1 END,
             holder = excluded.holder, expires_at = excluded.expires_at
           WHERE leadership.holder = excluded.holder OR leadership.expires_at <= ?
           RETURNING holder`,
        )
        .get(role, owner, now + termMs, now, now) as { holder: string } | undefined;
      return row?.holder === owner;
    });
  }

  releaseLeadership(role: LeaderRole, owner: string): Promise<void> {
    return this.use('release a leadership', (c) => {
      c.stmts.get('UPDATE leadership SET expires_at = ? WHERE role = ? AND holder = ?').run(this.clock.now(), role, owner);
    });
  }

  pruneEnded(beforeMs: number, batch: number): Promise<PruneCounts> {
    return this.use('prune past retention', (c) => pruneBatch(c.db, c.stmts, beforeMs, batch));
  }

  /** One process owns the file: nobody else makes work for it, so there is nothing to hear. */
  onWake(): () => void {
    return () => undefined;
  }

  private setPause(c: Connection, scope: string, paused: boolean): void {
    if (paused) c.stmts.get('INSERT INTO pauses (scope, paused_at) VALUES (?, ?) ON CONFLICT (scope) DO NOTHING').run(scope, this.clock.now());
    else c.stmts.get('DELETE FROM pauses WHERE scope = ?').run(scope);
  }

  /** Runs one synchronous piece of work under the mutex, so it never lands inside another caller's open transaction. */
  private use<T>(doing: string, work: (c: Connection) => T): Promise<T> {
    return this.mutex.run(() => {
      const conn = this.connection();
      try {
        return work(conn);
      } catch (err) {
        throw storeError(err, doing);
      }
    });
  }

  private connection(): Connection {
    if (this.conn === null) throw new RemediatorError('STORE_UNAVAILABLE', `SQLite store ${this.path} is not open`);
    return this.conn;
  }
}
