/** Versioned schema of the SQLite store: each migration applied once, in order, in its own transaction. */

import type Database from 'better-sqlite3';
import { canonicalInstant } from '../../core/instant.js';

export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
  /** Data changes SQL cannot express, run in the same transaction before `sql`. */
  readonly before?: (db: Database.Database) => void;
}

const INITIAL = `
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  runbook TEXT NOT NULL,
  runbook_hash TEXT NOT NULL,
  fault_class TEXT NOT NULL,
  target TEXT NOT NULL,
  pool TEXT,
  mode TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT,
  waiting_for TEXT,
  alertname TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  starts_at TEXT NOT NULL,
  alert_json TEXT NOT NULL,
  params_json TEXT NOT NULL,
  plan_json TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  not_before INTEGER NOT NULL,
  max_pending_age_ms INTEGER NOT NULL,
  started_at INTEGER,
  ended_at INTEGER,
  executed INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  fence INTEGER NOT NULL DEFAULT 0,
  cancel_requested TEXT,
  approved_by TEXT,
  approved_at INTEGER,
  annotations_json TEXT,
  silence_id TEXT,
  escalation_json TEXT,
  CONSTRAINT runs_episode UNIQUE (runbook, fingerprint, starts_at)
);
-- Two runs can never hold one target: the store enforces it, not process memory (SPEC §9).
CREATE UNIQUE INDEX runs_target_held ON runs (target) WHERE state IN ('running', 'awaiting_approval');
CREATE INDEX runs_claim ON runs (state, not_before);
CREATE INDEX runs_runbook_target_state ON runs (runbook, target, state);
CREATE INDEX runs_runbook_target_ended ON runs (runbook, target, ended_at, id);
-- Keyset pagination, newest first: one index per list filter, each ending in (created_at, id).
CREATE INDEX runs_list ON runs (created_at, id);
CREATE INDEX runs_list_state ON runs (state, created_at, id);
CREATE INDEX runs_list_runbook ON runs (runbook, created_at, id);
CREATE INDEX runs_list_fault_class ON runs (fault_class, created_at, id);
CREATE INDEX runs_list_target ON runs (target, created_at, id);
CREATE INDEX runs_list_alertname ON runs (alertname, created_at, id);
CREATE INDEX runs_list_fingerprint ON runs (fingerprint, created_at, id);

CREATE TABLE decisions (
  id TEXT PRIMARY KEY,
  received_at INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  starts_at TEXT NOT NULL,
  alertname TEXT NOT NULL,
  status TEXT NOT NULL,
  runbook TEXT,
  decision TEXT NOT NULL,
  reason TEXT,
  run_id TEXT,
  deliveries INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX decisions_run ON decisions (run_id);
CREATE INDEX decisions_list ON decisions (received_at, id);
CREATE INDEX decisions_list_runbook ON decisions (runbook, received_at, id);
CREATE INDEX decisions_list_fingerprint ON decisions (fingerprint, received_at, id);
CREATE INDEX decisions_list_alertname ON decisions (alertname, received_at, id);
CREATE INDEX decisions_list_reason ON decisions (reason, received_at, id);

CREATE TABLE run_tiers (
  run_id TEXT NOT NULL,
  tier_index INTEGER NOT NULL,
  state TEXT NOT NULL,
  verified INTEGER NOT NULL DEFAULT 0,
  verify_json TEXT,
  started_at INTEGER,
  ended_at INTEGER,
  PRIMARY KEY (run_id, tier_index)
) WITHOUT ROWID;

CREATE TABLE run_steps (
  run_id TEXT NOT NULL,
  tier_index INTEGER NOT NULL,
  phase TEXT NOT NULL,
  step_index INTEGER NOT NULL,
  name TEXT,
  kind TEXT,
  state TEXT NOT NULL,
  argv_json TEXT,
  host TEXT,
  exit_code INTEGER,
  signal TEXT,
  timed_out INTEGER NOT NULL DEFAULT 0,
  stopped_by TEXT,
  stdout TEXT NOT NULL DEFAULT '',
  stderr TEXT NOT NULL DEFAULT '',
  stdout_truncated INTEGER NOT NULL DEFAULT 0,
  stderr_truncated INTEGER NOT NULL DEFAULT 0,
  error_json TEXT,
  evidence_json TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  pgid INTEGER,
  start_ticks INTEGER,
  started_at INTEGER,
  ended_at INTEGER,
  PRIMARY KEY (run_id, tier_index, phase, step_index)
);

-- Which process opened the file last: written at every open, which is what takes the exclusive lock.
CREATE TABLE store_owner (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  pid INTEGER NOT NULL,
  opened_at INTEGER NOT NULL
);

CREATE TABLE pauses (
  scope TEXT PRIMARY KEY,
  paused_at INTEGER NOT NULL
);
`;

// Issue 3: pool limits, the run-start rate limit, fleet breakers, budget resets, escalations, remote processes.
const BLAST_RADIUS = `
-- 1 is the runbook default; rows written before this column existed get it.
ALTER TABLE runs ADD COLUMN max_concurrent_per_pool INTEGER NOT NULL DEFAULT 1;
-- Set once a pending run waited at a claim; with not_before > created_at it is what ClaimCandidate.waited says.
ALTER TABLE runs ADD COLUMN waited INTEGER NOT NULL DEFAULT 0;
-- The same state list as the pool query, or SQLite will not use the partial index.
CREATE INDEX runs_pool_active ON runs (pool) WHERE state IN ('running', 'awaiting_approval');
CREATE INDEX runs_started ON runs (started_at);

-- A step's remote process group, kept apart from its local one (the ssh client) so that neither overwrites the other;
-- only the local one is ever killed by the sweep.
ALTER TABLE run_steps ADD COLUMN remote_host TEXT;
ALTER TABLE run_steps ADD COLUMN remote_pgid INTEGER;
ALTER TABLE run_steps ADD COLUMN remote_start_ticks INTEGER;

CREATE TABLE runbook_state (
  runbook TEXT PRIMARY KEY,
  breaker_opened_at INTEGER,
  breaker_last_seen_at INTEGER,
  budget_reset_at INTEGER
) WITHOUT ROWID;
CREATE INDEX runbook_state_open ON runbook_state (runbook) WHERE breaker_opened_at IS NOT NULL;

CREATE TABLE escalations (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  runbook TEXT NOT NULL,
  run_id TEXT,
  reason TEXT NOT NULL,
  target TEXT,
  alert_json TEXT NOT NULL
);
CREATE INDEX escalations_list ON escalations (created_at, id);
CREATE INDEX escalations_list_runbook ON escalations (runbook, created_at, id);
CREATE INDEX escalations_list_run ON escalations (run_id, created_at, id);
`;

// Issue 4: approval waits and the escalation outbox that report/ drains.
const OUTCOMES = `
-- While a run awaits approval: when the wait times out, and the tier that waits (kept after approval, so a resumed
-- worker knows which tier approvedBy/approvedAt approved).
ALTER TABLE runs ADD COLUMN approval_deadline INTEGER;
ALTER TABLE runs ADD COLUMN approval_tier INTEGER;
-- The same state as the expiry query, or SQLite will not use the partial index.
CREATE INDEX runs_approval_deadline ON runs (approval_deadline) WHERE state = 'awaiting_approval';

-- Escalations recorded before this migration were never posted: they stay pending, as they truly are.
ALTER TABLE escalations ADD COLUMN posted_at INTEGER;
ALTER TABLE escalations ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE escalations ADD COLUMN last_error TEXT;
CREATE INDEX escalations_pending ON escalations (created_at, id) WHERE posted_at IS NULL;
`;

// The SRE's common question "failed runs of this runbook (or fault class)": two filters, one index, no row-by-row scan.
const LIST_COMBINED = `
CREATE INDEX runs_list_runbook_state ON runs (runbook, state, created_at, id);
CREATE INDEX runs_list_fault_class_state ON runs (fault_class, state, created_at, id);
`;

// Issue 7: episodes keyed on the instant, resolutions and sightings remembered, repeats of a refusal folded into one row.
const EPISODES = `
-- What is known of one alert episode beyond its runs: a resolved notification arrived; Prometheus was seen to carry it.
CREATE TABLE episodes (
  fingerprint TEXT NOT NULL,
  starts_at TEXT NOT NULL,
  resolved_at INTEGER,
  prometheus_seen_at INTEGER,
  PRIMARY KEY (fingerprint, starts_at)
) WITHOUT ROWID;

-- Repeats of one refusal (episode, runbook, reason) already written as rows become one row with their delivery count.
UPDATE decisions SET deliveries = (
    SELECT sum(x.deliveries) FROM decisions x WHERE x.decision = 'skip' AND x.fingerprint = decisions.fingerprint
      AND x.starts_at = decisions.starts_at AND x.runbook IS decisions.runbook AND x.reason IS decisions.reason)
  WHERE decision = 'skip' AND id = (
    SELECT min(x.id) FROM decisions x WHERE x.decision = 'skip' AND x.fingerprint = decisions.fingerprint
      AND x.starts_at = decisions.starts_at AND x.runbook IS decisions.runbook AND x.reason IS decisions.reason);
DELETE FROM decisions WHERE decision = 'skip' AND id <> (
  SELECT min(x.id) FROM decisions x WHERE x.decision = 'skip' AND x.fingerprint = decisions.fingerprint
    AND x.starts_at = decisions.starts_at AND x.runbook IS decisions.runbook AND x.reason IS decisions.reason);
CREATE UNIQUE INDEX decisions_fold ON decisions (fingerprint, starts_at, coalesce(runbook, ''), coalesce(reason, '')) WHERE decision = 'skip';

-- A failed run's escalation is posted before any refusal's, however many refusals wait.
CREATE INDEX escalations_pending_runs_first ON escalations ((run_id IS NULL), created_at, id) WHERE posted_at IS NULL;
`;

/** Rewrites every stored startsAt to its one spelling; a run whose canonical key another run holds keeps its own. */
function canonicalStartsAt(db: Database.Database): void {
  for (const table of ['runs', 'decisions'] as const) {
    const spellings = db.prepare(`SELECT DISTINCT starts_at FROM ${table}`).pluck().all() as string[];
    const update = db.prepare(`UPDATE OR IGNORE ${table} SET starts_at = ? WHERE starts_at = ?`);
    for (const text of spellings) {
      const canonical = canonicalInstant(text);
      if (canonical !== null && canonical !== text) update.run(canonical, text);
    }
  }
}

// Issue 7: a local step's cgroup, so that the sweep after a crash kills everything the step started, daemons included.
const CONTAINMENT = `
ALTER TABLE run_steps ADD COLUMN cgroup TEXT;
`;

// Issue 9: the roles one replica at a time holds, with a term (the PostgreSQL store's table, kept alike here).
const LEADERSHIP = `
CREATE TABLE leadership (
  role TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  term INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** Every migration, oldest first; append new ones, never edit applied ones. */
export const MIGRATIONS: readonly Migration[] = [
  { id: 1, name: 'initial', sql: INITIAL },
  { id: 2, name: 'blast-radius', sql: BLAST_RADIUS },
  { id: 3, name: 'outcomes', sql: OUTCOMES },
  { id: 4, name: 'list-combined', sql: LIST_COMBINED },
  { id: 5, name: 'containment', sql: CONTAINMENT },
  { id: 6, name: 'episodes', sql: EPISODES, before: canonicalStartsAt },
  { id: 7, name: 'leadership', sql: LEADERSHIP },
];

/** Applies the migrations not yet recorded in schema_migrations; returns the ids it applied. */
export function applyMigrations(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const applied = new Set(
    db
      .prepare('SELECT id FROM schema_migrations')
      .pluck()
      .all()
      .map((id) => Number(id)),
  );
  const record = db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)');
  const done: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
    if (applied.has(m.id)) continue;
    db.transaction(() => {
      m.before?.(db);
      db.exec(m.sql);
      record.run(m.id, m.name, Date.now());
    })();
    done.push(m.id);
  }
  return done;
}
