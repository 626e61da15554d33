import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { makeAlert, makeRun } from '../../../test/store-contract/fixtures.js';
import { applyMigrations, MIGRATIONS } from './migrations.js';
import { SqliteRunStore } from './sqlite-store.js';

const dirs: string[] = [];

function tempDb(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remediator-migrate-'));
  dirs.push(dir);
  return path.join(dir, 'remediator.db');
}

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A database at the blast-radius schema with one running run (owner gone) and one escalation never posted. */
function seedBlastRadiusDb(file: string, now: number): { runId: string; escalationId: string } {
  const old = makeRun(now - 60_000, { target: 'gpu-1' });
  const db = new Database(file);
  try {
    expect(applyMigrations(db, MIGRATIONS.slice(0, 2))).toEqual([1, 2]);
    db.prepare(
      `INSERT INTO runs (id, runbook, runbook_hash, fault_class, target, mode, state, alertname, fingerprint, starts_at, alert_json,
         params_json, plan_json, created_at, not_before, max_pending_age_ms, started_at, lease_owner, lease_expires_at, fence)
       VALUES (?, 'gpu-oom', 'sha256:abc', 'oom', 'gpu-1', 'enforce', 'running', 'LLMServerDown', ?, ?, ?, '{}', ?, ?, ?, 900000, ?, 'gone', ?, 1)`,
    ).run(old.id, old.alert.fingerprint, old.alert.startsAt, JSON.stringify(old.alert), JSON.stringify(old.plan), now - 60_000, now - 60_000, now - 60_000, now - 1);
    db.prepare(`INSERT INTO escalations (id, created_at, runbook, run_id, reason, target, alert_json) VALUES ('esc-1', ?, 'gpu-oom', ?, 'failed', 'gpu-1', ?)`)
      .run(now - 30_000, old.id, JSON.stringify(makeAlert()));
  } finally {
    db.close();
  }
  return { runId: old.id, escalationId: 'esc-1' };
}

describe('SQLite migrations', () => {
  it('upgrades a blast-radius database: old escalations wait to be posted, and old runs can wait for approval', async () => {
    const file = tempDb();
    const { runId, escalationId } = seedBlastRadiusDb(file, Date.now());
    const store = new SqliteRunStore({ path: file });
    await store.open();
    try {
      expect(await store.pendingEscalations(10)).toMatchObject([{ id: escalationId, postedAt: null, attempts: 0, lastError: null }]);
      await store.markEscalation(escalationId, { posted: true, error: null });
      expect(await store.pendingEscalations(10)).toEqual([]);
      expect(await store.getRun(runId)).toMatchObject({ state: 'running', approvalDeadline: null, approvalTier: null, annotations: null });
      await store.releaseLease(runId);
      const fence = await store.transact((tx) => tx.claim(runId, 'new-owner', 30_000));
      expect(fence).toBe(2);
      expect(await store.awaitApproval(runId, fence, 0, 0)).toBe(true);
      expect((await store.expireApprovals()).map((r) => [r.id, r.state, r.reason])).toEqual([[runId, 'failed', 'approval_timeout']]);
    } finally {
      await store.close();
    }
    const check = new Database(file);
    try {
      expect(check.prepare('SELECT id FROM schema_migrations ORDER BY id').pluck().all()).toEqual(MIGRATIONS.map((m) => m.id));
      expect(applyMigrations(check)).toEqual([]);
    } finally {
      check.close();
    }
  });

  it('numbers migrations in order, without gaps', () => {
    expect(MIGRATIONS.map((m) => m.id)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });
});

describe('the episodes migration', () => {
  it('rewrites old startsAt spellings to one, and folds refusals already written as repeated rows', async () => {
    const file = tempDb();
    const now = Date.now();
    const db = new Database(file);
    try {
      applyMigrations(db, MIGRATIONS.filter((m) => m.id < 6));
      const insert = db.prepare(
        `INSERT INTO decisions (id, received_at, fingerprint, starts_at, alertname, status, runbook, decision, reason, run_id, deliveries)
         VALUES (?, ?, 'aaaaaaaaaaaaaaaa', ?, 'A', 'firing', ?, 'skip', ?, NULL, ?)`,
      );
      insert.run('d1', now, '2026-12-01T10:00:00.000Z', 'rb', 'param_invalid', 2);
      insert.run('d2', now + 1, '2026-12-01T11:00:00+01:00', 'rb', 'param_invalid', 3);
      insert.run('d3', now + 2, '2026-12-01T10:00:00Z', null, 'no_match', 1);
      insert.run('d4', now + 3, '2026-12-01T10:00:00Z', null, 'no_match', 1);
      insert.run('d5', now + 4, '2026-12-01T10:00:00Z', 'rb', 'paused', 1);
    } finally {
      db.close();
    }
    const store = new SqliteRunStore({ path: file });
    await store.open();
    try {
      const rows = (await store.listDecisions({}, { limit: 10, cursor: null })).items;
      expect(rows.map((d) => [d.id, d.startsAt, d.reason, d.deliveries]).sort()).toEqual([
        ['d1', '2026-12-01T10:00:00Z', 'param_invalid', 5],
        ['d3', '2026-12-01T10:00:00Z', 'no_match', 2],
        ['d5', '2026-12-01T10:00:00Z', 'paused', 1],
      ]);
    } finally {
      await store.close();
    }
  });
});
