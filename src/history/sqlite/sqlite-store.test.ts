import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { describeRaceContract } from '../../../test/store-contract/race-contract.js';
import { describeRunStoreContract } from '../../../test/store-contract/run-store-contract.js';
import { insertRun, makeAlert, makeRun } from '../../../test/store-contract/fixtures.js';
import { applyMigrations, MIGRATIONS } from './migrations.js';
import { storeError } from './sqlite-errors.js';
import { SqliteRunStore } from './sqlite-store.js';

const dirs: string[] = [];

function tempDb(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remediator-sqlite-'));
  dirs.push(dir);
  return path.join(dir, 'nested', 'remediator.db');
}

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describeRunStoreContract('sqlite', async () => {
  const store = new SqliteRunStore({ path: tempDb() });
  await store.open();
  return { store, cleanup: () => store.close() };
});

// One SQLite file serves one process (SPEC §9), so both "replicas" are the same instance: its async mutex serialises
// every transaction, which is the guarantee the races check. PostgreSQL registers two instances on one database.
describeRaceContract('sqlite', async () => {
  const store = new SqliteRunStore({ path: tempDb() });
  await store.open();
  return { a: store, b: store, cleanup: () => store.close() };
});

// What open() does, in another process: it holds the file until its stdin closes.
const HOLDER = `
const Database = require('better-sqlite3');
try {
  const db = new Database(process.argv[1], { timeout: 250 });
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY)');
  db.exec('INSERT INTO holder DEFAULT VALUES');
  process.stdout.write('held\\n');
  process.stdin.on('end', () => { db.close(); process.exit(0); });
  process.stdin.resume();
} catch (err) {
  process.stdout.write('refused ' + err.code + '\\n');
  process.exit(3);
}`;

function startHolder(file: string): { child: ChildProcessWithoutNullStreams; firstLine: Promise<string> } {
  const child = spawn(process.execPath, ['-e', HOLDER, file], { cwd: process.cwd() });
  const firstLine = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(out.trim() || `exit ${code}`));
  });
  return { child, firstLine };
}

function exited(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
}

describe('SqliteRunStore', () => {
  it('refuses to open a file another process holds, and opens it once that process let go', async () => {
    const file = tempDb();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const holder = startHolder(file);
    expect(await holder.firstLine).toBe('held');
    const store = new SqliteRunStore({ path: file });
    const refusal = store.open();
    await expect(refusal).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await expect(refusal).rejects.toThrow(`SQLite file ${file} is held by another process`);
    holder.child.stdin.end();
    expect(await exited(holder.child)).toBe(0);
    await store.open();
    await store.ping();
    await store.close();
  });

  it('keeps another process off the file while it is open', async () => {
    const file = tempDb();
    const store = new SqliteRunStore({ path: file });
    await store.open();
    const intruder = startHolder(file);
    expect(await intruder.firstLine).toBe('refused SQLITE_BUSY');
    expect(await exited(intruder.child)).toBe(3);
    await store.close();
  });

  it('keeps its data across close and reopen, and applies each migration once', async () => {
    const file = tempDb();
    const first = new SqliteRunStore({ path: file });
    await first.open();
    const run = await insertRun(first);
    await first.close();
    const second = new SqliteRunStore({ path: file });
    await second.open();
    expect((await second.getRun(run.id))?.alert).toEqual(run.alert);
    await second.close();
    const db = new Database(file);
    try {
      expect(applyMigrations(db)).toEqual([]);
      expect(db.prepare('SELECT id FROM schema_migrations').pluck().all()).toEqual(MIGRATIONS.map((m) => m.id));
    } finally {
      db.close();
    }
  });

  it('upgrades a database made by the first migration alone, keeping its runs and processes', async () => {
    const file = tempDb();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const now = Date.now();
    const old = makeRun(now - 60_000, { target: 'gpu-1', pool: 'rack-a' });
    const db = new Database(file);
    try {
      expect(applyMigrations(db, MIGRATIONS.slice(0, 1))).toEqual([1]);
      db.prepare(
        `INSERT INTO runs (id, runbook, runbook_hash, fault_class, target, pool, mode, state, alertname, fingerprint, starts_at, alert_json,
           params_json, plan_json, created_at, not_before, max_pending_age_ms, started_at, executed, lease_owner, lease_expires_at, fence)
         VALUES (?, 'gpu-oom', 'sha256:abc', 'oom', 'gpu-1', 'rack-a', 'enforce', 'running', 'LLMServerDown', ?, ?, ?, '{}', ?, ?, ?, 900000, ?, 1, 'gone', ?, 1)`,
      ).run(old.id, old.alert.fingerprint, old.alert.startsAt, JSON.stringify(old.alert), JSON.stringify(old.plan), now - 60_000, now - 60_000, now - 60_000, now - 1);
      db.prepare(`INSERT INTO run_steps (run_id, tier_index, phase, step_index, state, pgid, start_ticks) VALUES (?, 0, 'steps', 0, 'running', 4242, 7)`).run(old.id);
    } finally {
      db.close();
    }
    const store = new SqliteRunStore({ path: file });
    await store.open();
    try {
      expect(await store.expiredRuns('new-owner', true)).toEqual([{ runId: old.id, processes: [{ pgid: 4242, startTicks: 7 }] }]);
      await store.releaseLease(old.id);
      const facts = await store.transact(async (tx) => ({
        candidates: await tx.claimCandidates(10),
        attempts: await tx.attemptsSince('gpu-oom', 'gpu-1', 0),
        starts: await tx.startsSince(0),
        breaker: await tx.breaker('gpu-oom'),
      }));
      expect(facts).toEqual({
        candidates: [expect.objectContaining({ runId: old.id, pool: 'rack-a', maxConcurrentPerPool: 1, waited: false, resumed: true })],
        attempts: 1,
        starts: 1,
        breaker: null,
      });
      await store.resetRunbook('gpu-oom');
      expect(await store.transact((tx) => tx.attemptsSince('gpu-oom', 'gpu-1', 0))).toBe(0);
      await store.recordEscalation({ runbook: 'gpu-oom', runId: old.id, reason: 'interrupted', alert: old.alert, target: 'gpu-1' });
      expect((await store.listEscalations({ runId: old.id }, { limit: 5, cursor: null })).items).toHaveLength(1);
    } finally {
      await store.close();
    }
    const check = new Database(file);
    try {
      expect(check.prepare('SELECT id FROM schema_migrations ORDER BY id').pluck().all()).toEqual(MIGRATIONS.map((m) => m.id));
    } finally {
      check.close();
    }
  });

  it('records times from the clock it is given', async () => {
    const store = new SqliteRunStore({ path: tempDb(), clock: { now: () => 1_700_000_000_000 } });
    await store.open();
    const run = await insertRun(store);
    expect(await store.now()).toBe(1_700_000_000_000);
    expect((await store.getRun(run.id))?.createdAt).toBe('2023-11-14T22:13:20.000Z');
    await store.close();
  });

  it('rolls back and rethrows what a transaction throws', async () => {
    const store = new SqliteRunStore({ path: tempDb() });
    await store.open();
    const failing = store.transact(async (tx) => {
      await tx.insertDecision({ alert: makeAlert(), runbook: null, decision: 'skip', reason: 'no_match', runId: null });
      throw new Error('guard bug');
    });
    await expect(failing).rejects.toThrow('guard bug');
    expect((await store.listDecisions({}, { limit: 10, cursor: null })).items).toEqual([]);
    await store.close();
  });

  it('commits transactions that wait together, each in its own savepoint: one that fails leaves the others committed', async () => {
    const store = new SqliteRunStore({ path: tempDb() });
    await store.open();
    const proto = Object.getPrototypeOf(new Database(':memory:').prepare('SELECT 1')) as { run: (...args: unknown[]) => unknown; source?: string };
    const run = proto.run;
    const sent: string[] = [];
    proto.run = function (this: { source: string }, ...args: unknown[]) {
      if (/^(BEGIN|COMMIT|SAVEPOINT|RELEASE|ROLLBACK)/.test(this.source)) sent.push(this.source.split(' ')[0] ?? '');
      return run.apply(this, args);
    };
    try {
      const alerts = Array.from({ length: 10 }, () => makeAlert());
      // Started together, before the store's queue turns: all eleven share one transaction.
      // The last repeats the second alert's refusal: it folds into the row the second wrote in the same group.
      const outcomes = await Promise.allSettled(
        [...alerts, alerts[1] ?? makeAlert()].map((alert, i) =>
          store.transact(async (tx) => {
            const decision = await tx.insertDecision({ alert, runbook: null, decision: 'skip', reason: 'no_match', runId: null });
            if (i === 4) throw new Error('guard bug');
            return decision.deliveries;
          }),
        ),
      );
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : 'rejected'))).toEqual([1, 1, 1, 1, 'rejected', 1, 1, 1, 1, 1, 2]);
      const stored = (await store.listDecisions({}, { limit: 100, cursor: null })).items.map((d) => d.fingerprint).sort();
      expect(stored).toEqual(alerts.filter((_, i) => i !== 4).map((a) => a.fingerprint).sort());
      expect(sent.filter((k) => k === 'BEGIN' || k === 'COMMIT')).toEqual(['BEGIN', 'COMMIT']);
      expect(sent.filter((k) => k === 'SAVEPOINT')).toHaveLength(11);
      // The failing one rolled back to its savepoint alone.
      expect(sent.filter((k) => k === 'ROLLBACK')).toHaveLength(1);
    } finally {
      proto.run = run;
      await store.close();
    }
  });

  it('answers STORE_UNAVAILABLE when it is not open', async () => {
    const store = new SqliteRunStore({ path: tempDb() });
    await expect(store.ping()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(store.transact(async () => 1)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('turns a full disk into STORE_UNAVAILABLE', () => {
    const db = new Database(':memory:');
    db.pragma('max_page_count = 2');
    let thrown: unknown = null;
    try {
      db.exec('CREATE TABLE big (v TEXT)');
      db.prepare('INSERT INTO big VALUES (?)').run('x'.repeat(100_000));
    } catch (err) {
      thrown = err;
    } finally {
      db.close();
    }
    expect(storeError(thrown, 'insert')).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true, cause: thrown });
  });
});

