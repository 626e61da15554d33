/** The PostgreSQL adapter of the RunStore port: one database shared by several replicas, coordinated by its locks and its clock. */

import os from 'node:os';
import pg from 'pg';
import type { VerificationRecord } from '../../core/verification.js';
import { RemediatorError } from '../../core/errors.js';
import type { Decision, RunDetail, RunReason, RunState, RunSummary, StepResult, StepState, TierState } from '../../core/run.js';
import type {
  BreakerState, DecisionFilter, EpisodeFacts, Escalation, ExpiredRun, LeaderRole, LeaseCheck, NewEscalation, Page, PageOf, ProcessRecord, PruneCounts, RunCounts, RunFilter,
  RunReport, RunStore, StepKey, StepStart, StoreCapabilities, StoreTx,
} from '../run-store.js';
import { insertEscalation, markEscalation, pendingEscalations } from './escalations.js';
import { holdLeadership, releaseLeadership } from './leadership.js';
import { listDecisions, listEscalations, listRuns } from './list-queries.js';
import { applyMigrations } from './migrations.js';
import { storeError } from './postgres-errors.js';
import { episodeStart, isPaused, PostgresTx, runbookScope } from './postgres-tx.js';
import { pruneBatch } from './retention.js';
import { approveRun, cancelRun, expireApprovals } from './run-control.js';
import { readRunDetail } from './run-detail.js';
import { countRuns } from './run-counts.js';
import { setRunReport } from './run-report.js';
import { first, rows, TYPES } from './rows.js';
import { readOpenBreakers, resetRunbook } from './runbook-state.js';
import { runTransaction } from './transactions.js';
import { WakeListener } from './wake-listener.js';
import { WorkerWrites } from './worker-writes.js';

export interface PostgresRunStoreOptions {
  /** postgres://user:password@host:port/database; the password is never repeated in errors. */
  readonly url: string;
  /** This machine's name in the process records it writes: the sweep kills only process groups recorded with it. Default os.hostname(). */
  readonly node?: string;
  /** Connections in the pool, besides the one that LISTENs. Default 6. */
  readonly poolSize?: number;
}

interface Connection {
  readonly pool: pg.Pool;
  readonly writes: WorkerWrites;
  readonly wake: WakeListener;
}

const DEFAULT_POOL_SIZE = 6;

/** What every connection of the store is opened with: bounded waits, so a stuck lock or a lost client never hangs a replica. */
function connectionConfig(url: string): pg.ClientConfig {
  return {
    connectionString: url,
    application_name: 'remediator',
    statement_timeout: 15_000,
    lock_timeout: 10_000,
    idle_in_transaction_session_timeout: 30_000,
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    types: TYPES,
  };
}

/** The URL without its credentials, for messages. */
function describe(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the configured database';
  }
}

/** A RunStore on one PostgreSQL database; any number of instances, in any number of processes, may share it. */
export class PostgresRunStore implements RunStore {
  readonly capabilities: StoreCapabilities = { singleProcess: false };
  private readonly url: string;
  private readonly node: string;
  private readonly poolSize: number;
  private readonly listeners = new Set<() => void>();
  private conn: Connection | null = null;

  constructor(options: PostgresRunStoreOptions) {
    this.url = options.url;
    this.node = options.node ?? os.hostname();
    this.poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
  }

  async open(): Promise<void> {
    if (this.conn !== null) return;
    const pool = new pg.Pool({ ...connectionConfig(this.url), max: this.poolSize });
    // An idle client's connection failed: the pool drops it and the next query connects afresh; nothing to do here.
    pool.on('error', () => undefined);
    // A checked-out client whose socket fails between statements emits 'error' too; its next statement fails and is mapped,
    // so the event itself only needs a listener (without one it would be an uncaught exception).
    pool.on('connect', (client) => client.on('error', () => undefined));
    try {
      await applyMigrations(pool);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw storeError(err, `open ${describe(this.url)}`);
    }
    const wake = new WakeListener(connectionConfig(this.url), () => this.wakeAll());
    this.conn = { pool, writes: new WorkerWrites(pool, this.node), wake };
    if (this.listeners.size > 0) wake.start();
  }

  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = null;
    if (conn === null) return;
    await conn.wake.close();
    await conn.pool.end();
  }

  async ping(): Promise<void> {
    await this.use('answer', (c) => c.pool.query('SELECT 1'));
  }

  now(): Promise<number> {
    return this.use('read the clock', (c) => dbNow(c.pool));
  }

  async transact<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const { pool } = this.connection();
    return runTransaction(pool, 'run a transaction', (client, now) => fn(new PostgresTx(client, now)));
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
    return this.use('record a report', (c) => setRunReport(c.pool, runId, report));
  }

  pendingEscalations(limit: number): Promise<Escalation[]> {
    return this.use('list pending escalations', (c) => pendingEscalations(c.pool, limit));
  }

  markEscalation(id: string, outcome: { readonly posted: boolean; readonly error: string | null }): Promise<void> {
    return this.use('mark an escalation', (c) => markEscalation(c.pool, id, outcome));
  }

  expiredRuns(owner: string, includeOtherOwners: boolean): Promise<ExpiredRun[]> {
    return this.use('list expired runs', (c) => c.writes.expiredRuns(owner, includeOtherOwners));
  }

  releaseLease(runId: string): Promise<void> {
    return this.use('release a lease', (c) => c.writes.releaseLease(runId));
  }

  getRun(id: string): Promise<RunDetail | null> {
    return this.use('read a run', (c) => readRunDetail(c.pool, id));
  }

  listRuns(filter: RunFilter, page: Page): Promise<PageOf<RunSummary>> {
    return this.use('list runs', (c) => listRuns(c.pool, filter, page));
  }

  listDecisions(filter: DecisionFilter, page: Page): Promise<PageOf<Decision>> {
    return this.use('list decisions', (c) => listDecisions(c.pool, filter, page));
  }

  cancelRun(id: string, reason: RunReason): Promise<RunState | null> {
    return this.use('cancel a run', (c) => cancelRun(c.pool, id, reason));
  }

  approveRun(id: string, who: string): Promise<RunState | null> {
    return this.use('approve a run', (c) => approveRun(c.pool, id, who));
  }

  expireApprovals(): Promise<RunDetail[]> {
    return this.use('expire approval waits', (c) => expireApprovals(c.pool));
  }

  setGlobalPause(paused: boolean): Promise<void> {
    return this.use('set the global pause', (c) => setPause(c.pool, '*', paused));
  }

  globalPaused(): Promise<boolean> {
    return this.use('read the global pause', (c) => isPaused(c.pool, '*'));
  }

  setRunbookPause(name: string, paused: boolean): Promise<void> {
    return this.use('set a runbook pause', (c) => setPause(c.pool, runbookScope(name), paused));
  }

  pausedRunbooks(): Promise<Set<string>> {
    return this.use('read runbook pauses', async (c) => {
      const scopes = await rows<{ scope: string }>(c.pool, `SELECT scope FROM pauses WHERE scope LIKE 'runbook:%'`);
      return new Set(scopes.map((s) => s.scope.slice('runbook:'.length)));
    });
  }

  resetRunbook(name: string): Promise<void> {
    return this.use('reset a runbook', (c) => resetRunbook(c.pool, name));
  }

  openBreakers(): Promise<Map<string, BreakerState>> {
    return this.use('read open breakers', (c) => readOpenBreakers(c.pool));
  }

  recordEscalation(escalation: NewEscalation): Promise<void> {
    return this.use('record an escalation', async (c) => insertEscalation(c.pool, escalation, await dbNow(c.pool)));
  }

  episodeFacts(fingerprint: string, startsAt: string): Promise<EpisodeFacts> {
    return this.use('read an episode', async (c) => {
      const row = await first<{ resolved_at: number | null; prometheus_seen_at: number | null }>(
        c.pool,
        'SELECT resolved_at, prometheus_seen_at FROM episodes WHERE fingerprint = $1 AND starts_at = $2',
        [fingerprint, episodeStart(startsAt)],
      );
      return { resolvedAt: row?.resolved_at ?? null, prometheusSeenAt: row?.prometheus_seen_at ?? null };
    });
  }

  recordPrometheusSighting(fingerprint: string, startsAt: string): Promise<void> {
    return this.use('record a sighting', async (c) => {
      await c.pool.query(
        `INSERT INTO episodes (fingerprint, starts_at, prometheus_seen_at) VALUES ($1, $2, remediator_now_ms())
         ON CONFLICT (fingerprint, starts_at) DO UPDATE SET prometheus_seen_at = excluded.prometheus_seen_at`,
        [fingerprint, episodeStart(startsAt)],
      );
    });
  }

  runCounts(): Promise<RunCounts> {
    return this.use('count runs', (c) => countRuns(c.pool));
  }

  listEscalations(filter: { readonly runbook?: string; readonly runId?: string }, page: Page): Promise<PageOf<Escalation>> {
    return this.use('list escalations', (c) => listEscalations(c.pool, filter, page));
  }

  holdLeadership(role: LeaderRole, owner: string, termMs: number): Promise<boolean> {
    return this.use('hold a leadership', (c) => holdLeadership(c.pool, role, owner, termMs));
  }

  releaseLeadership(role: LeaderRole, owner: string): Promise<void> {
    return this.use('release a leadership', (c) => releaseLeadership(c.pool, role, owner));
  }

  /** One retention batch, as the SQLite store's. */
  pruneEnded(beforeMs: number, batch: number): Promise<PruneCounts> {
    return this.use('prune past retention', (c) => pruneBatch(c.pool, beforeMs, batch));
  }

  onWake(listener: () => void): () => void {
    this.listeners.add(listener);
    this.conn?.wake.start();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Calls every listener; one that throws must not keep the others from hearing, nor reach the LISTEN connection's events. */
  private wakeAll(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // A wake-up is a hint: the listener's own polling covers whatever it failed to do.
      }
    }
  }

  /** Runs one piece of work on the pool, turning what PostgreSQL throws into catalog errors. */
  private async use<T>(doing: string, work: (c: Connection) => Promise<T>): Promise<T> {
    const conn = this.connection();
    try {
      return await work(conn);
    } catch (err) {
      throw storeError(err, doing);
    }
  }

  private connection(): Connection {
    if (this.conn === null) throw new RemediatorError('STORE_UNAVAILABLE', `PostgreSQL store ${describe(this.url)} is not open`);
    return this.conn;
  }
}

/** The database's clock (epoch ms). */
async function dbNow(pool: pg.Pool): Promise<number> {
  const row = await first<{ now: number }>(pool, 'SELECT remediator_now_ms() AS now');
  if (row === undefined) throw new RemediatorError('INTERNAL', 'remediator_now_ms() returned no row');
  return row.now;
}

async function setPause(pool: pg.Pool, scope: string, paused: boolean): Promise<void> {
  if (paused) await pool.query('INSERT INTO pauses (scope, paused_at) VALUES ($1, remediator_now_ms()) ON CONFLICT (scope) DO NOTHING', [scope]);
  else await pool.query('DELETE FROM pauses WHERE scope = $1', [scope]);
}
