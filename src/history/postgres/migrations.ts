/** Versioned schema of the PostgreSQL store: each migration applied once across all replicas, in order, in its own transaction. */

import { createHash } from 'node:crypto';
import type pg from 'pg';
import { RemediatorError } from '../../core/errors.js';

export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}

/** The advisory lock every migration transaction takes first: a fixed constant, "remediat" in ASCII read as a bigint. */
export const MIGRATION_LOCK = 0x72656d6564696174n;

// The SQLite store's schema after all its migrations, in PostgreSQL terms. Times are bigint epoch ms from the database's
// clock; keys and names compare bytewise (COLLATE "C"), as in SQLite, so listings and cursors order alike on both stores.
const RUNS = `
-- Every time the store records comes from here: replicas on machines whose clocks disagree still agree on leases and terms.
CREATE FUNCTION remediator_now_ms() RETURNS bigint AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$ LANGUAGE sql VOLATILE;

CREATE TABLE runs (
  id text COLLATE "C" PRIMARY KEY,
  runbook text COLLATE "C" NOT NULL,
  runbook_hash text NOT NULL,
  fault_class text COLLATE "C" NOT NULL,
  target text COLLATE "C" NOT NULL,
  pool text COLLATE "C",
  mode text NOT NULL,
  state text NOT NULL,
  reason text,
  waiting_for text,
  alertname text COLLATE "C" NOT NULL,
  fingerprint text COLLATE "C" NOT NULL,
  starts_at text COLLATE "C" NOT NULL,
  alert_json text NOT NULL,
  params_json text NOT NULL,
  plan_json text NOT NULL,
  created_at bigint NOT NULL,
  not_before bigint NOT NULL,
  max_pending_age_ms bigint NOT NULL,
  max_concurrent_per_pool integer NOT NULL DEFAULT 1,
  -- Set once a pending run waited at a claim; with not_before > created_at it is what ClaimCandidate.waited says.
  waited boolean NOT NULL DEFAULT false,
  started_at bigint,
  ended_at bigint,
  executed boolean NOT NULL DEFAULT false,
  lease_owner text,
  lease_expires_at bigint,
  fence integer NOT NULL DEFAULT 0,
  cancel_requested text,
  approved_by text,
  approved_at bigint,
  approval_deadline bigint,
  approval_tier integer,
  annotations_json text,
  silence_id text,
  escalation_json text,
  CONSTRAINT runs_episode UNIQUE (runbook, fingerprint, starts_at)
);
-- Two runs can never hold one target: the database enforces it across replicas, not process memory (SPEC §9).
CREATE UNIQUE INDEX runs_target_held ON runs (target) WHERE state IN ('running', 'awaiting_approval');
-- The claim scan (due pending runs and released running runs, oldest first) and the sweep (leases by expiry) read only these.
CREATE INDEX runs_claim_pending ON runs (created_at, id) WHERE state = 'pending';
CREATE INDEX runs_claim_released ON runs (created_at, id) WHERE state = 'running' AND lease_owner IS NULL;
CREATE INDEX runs_lease_expiry ON runs (lease_expires_at) WHERE state = 'running' AND lease_owner IS NOT NULL;
CREATE INDEX runs_pool_active ON runs (pool) WHERE state IN ('running', 'awaiting_approval');
CREATE INDEX runs_approval_deadline ON runs (approval_deadline) WHERE state = 'awaiting_approval';
CREATE INDEX runs_started ON runs (started_at);
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
CREATE INDEX runs_list_runbook_state ON runs (runbook, state, created_at, id);
CREATE INDEX runs_list_fault_class_state ON runs (fault_class, state, created_at, id);
`;

const RECORDS = `
CREATE TABLE decisions (
  id text COLLATE "C" PRIMARY KEY,
  received_at bigint NOT NULL,
  fingerprint text COLLATE "C" NOT NULL,
  starts_at text COLLATE "C" NOT NULL,
  alertname text COLLATE "C" NOT NULL,
  status text NOT NULL,
  runbook text COLLATE "C",
  decision text NOT NULL,
  reason text COLLATE "C",
  run_id text COLLATE "C",
  deliveries integer NOT NULL DEFAULT 1
);
CREATE INDEX decisions_run ON decisions (run_id);
CREATE INDEX decisions_list ON decisions (received_at, id);
CREATE INDEX decisions_list_runbook ON decisions (runbook, received_at, id);
CREATE INDEX decisions_list_fingerprint ON decisions (fingerprint, received_at, id);
CREATE INDEX decisions_list_alertname ON decisions (alertname, received_at, id);
CREATE INDEX decisions_list_reason ON decisions (reason, received_at, id);
-- Repeats of one refusal (episode, runbook, reason) fold into one row with their delivery count (INSERT ... ON CONFLICT).
CREATE UNIQUE INDEX decisions_fold ON decisions (fingerprint, starts_at, coalesce(runbook, ''), coalesce(reason, '')) WHERE decision = 'skip';

CREATE TABLE run_tiers (
  run_id text COLLATE "C" NOT NULL,
  tier_index integer NOT NULL,
  state text NOT NULL,
  verified boolean NOT NULL DEFAULT false,
  verify_json text,
  started_at bigint,
  ended_at bigint,
  PRIMARY KEY (run_id, tier_index)
);

CREATE TABLE run_steps (
  run_id text COLLATE "C" NOT NULL,
  tier_index integer NOT NULL,
  phase text COLLATE "C" NOT NULL,
  step_index integer NOT NULL,
  name text,
  kind text,
  state text NOT NULL,
  argv_json text,
  host text,
  exit_code integer,
  signal text,
  timed_out boolean NOT NULL DEFAULT false,
  stopped_by text,
  stdout text NOT NULL DEFAULT '',
  stderr text NOT NULL DEFAULT '',
  stdout_truncated boolean NOT NULL DEFAULT false,
  stderr_truncated boolean NOT NULL DEFAULT false,
  error_json text,
  evidence_json text,
  attempts integer NOT NULL DEFAULT 0,
  -- A local process group, and the machine it runs on: another machine's sweep must never signal this pgid.
  pgid integer,
  start_ticks bigint,
  cgroup text,
  node text,
  -- A step's remote process group, kept apart from its local one (the ssh client) so that neither overwrites the other.
  remote_host text,
  remote_pgid integer,
  remote_start_ticks bigint,
  started_at bigint,
  ended_at bigint,
  PRIMARY KEY (run_id, tier_index, phase, step_index)
);
`;

const COORDINATION = `
CREATE TABLE pauses (
  scope text COLLATE "C" PRIMARY KEY,
  paused_at bigint NOT NULL
);

CREATE TABLE runbook_state (
  runbook text COLLATE "C" PRIMARY KEY,
  breaker_opened_at bigint,
  breaker_last_seen_at bigint,
  budget_reset_at bigint
);
CREATE INDEX runbook_state_open ON runbook_state (runbook) WHERE breaker_opened_at IS NOT NULL;

CREATE TABLE escalations (
  id text COLLATE "C" PRIMARY KEY,
  created_at bigint NOT NULL,
  runbook text COLLATE "C" NOT NULL,
  run_id text COLLATE "C",
  reason text NOT NULL,
  target text,
  alert_json text NOT NULL,
  posted_at bigint,
  attempts integer NOT NULL DEFAULT 0,
  last_error text
);
CREATE INDEX escalations_list ON escalations (created_at, id);
CREATE INDEX escalations_list_runbook ON escalations (runbook, created_at, id);
CREATE INDEX escalations_list_run ON escalations (run_id, created_at, id);
-- A failed run's escalation is posted before any refusal's, however many refusals wait.
CREATE INDEX escalations_pending_runs_first ON escalations ((run_id IS NULL), created_at, id) WHERE posted_at IS NULL;

-- What is known of one alert episode beyond its runs: a resolved notification arrived; Prometheus was seen to carry it.
CREATE TABLE episodes (
  fingerprint text COLLATE "C" NOT NULL,
  starts_at text COLLATE "C" NOT NULL,
  resolved_at bigint,
  prometheus_seen_at bigint,
  PRIMARY KEY (fingerprint, starts_at)
);

-- The roles one replica at a time holds, each with a term on the database clock.
CREATE TABLE leadership (
  role text COLLATE "C" PRIMARY KEY,
  holder text NOT NULL,
  term bigint NOT NULL,
  expires_at bigint NOT NULL
);
`;

/** Every migration, oldest first; append new ones, never edit applied ones (their checksum is checked at open). */
export const MIGRATIONS: readonly Migration[] = [{ id: 1, name: 'initial', sql: RUNS + RECORDS + COORDINATION }];

/** The text a migration is recorded with, so an edited migration is noticed rather than silently skipped. */
export function checksum(m: Migration): string {
  return `sha256:${createHash('sha256').update(m.sql).digest('hex')}`;
}

interface AppliedRow {
  readonly id: number;
  readonly name: string;
  readonly checksum: string;
}

/** Refuses a database that another version of remediator migrated past this code, or whose migrations were edited. */
function checkApplied(applied: readonly AppliedRow[], migrations: readonly Migration[]): void {
  const known = new Map(migrations.map((m) => [m.id, m]));
  const unknown = applied.filter((a) => !known.has(a.id)).map((a) => a.id);
  if (unknown.length > 0) {
    const latest = Math.max(0, ...migrations.map((m) => m.id));
    throw new RemediatorError(
      'STORE_UNAVAILABLE',
      `PostgreSQL schema is newer than this remediator: the database has migration ${unknown.join(', ')}, this code knows up to ${latest}; run a newer remediator`,
    );
  }
  for (const a of applied) {
    const m = known.get(a.id);
    if (m !== undefined && a.checksum !== checksum(m)) {
      throw new RemediatorError('STORE_UNAVAILABLE', `PostgreSQL migration ${a.id} (${a.name}) was applied from a different text than this code's`);
    }
  }
}

/**
 * Applies one pending migration, or none, in one transaction; returns its id or null when none was pending. The lock
 * comes first and the applied list is read after it, so replicas starting at once apply each migration exactly once.
 */
async function applyNext(client: pg.PoolClient, migrations: readonly Migration[]): Promise<number | null> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at bigint NOT NULL)',
    );
    const applied = (await client.query<AppliedRow>('SELECT id, name, checksum FROM schema_migrations ORDER BY id')).rows;
    checkApplied(applied, migrations);
    const done = new Set(applied.map((a) => a.id));
    const next = [...migrations].sort((a, b) => a.id - b.id).find((m) => !done.has(m.id));
    if (next !== undefined) {
      await client.query(next.sql);
      // remediator_now_ms() exists from the first migration on, so even that one's row is stamped by the database clock.
      await client.query('INSERT INTO schema_migrations (id, name, checksum, applied_at) VALUES ($1, $2, $3, remediator_now_ms())', [next.id, next.name, checksum(next)]);
    }
    await client.query('COMMIT');
    return next?.id ?? null;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Applies the migrations not yet recorded in schema_migrations, one transaction each; returns the ids this call applied. */
export async function applyMigrations(pool: pg.Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  const done: number[] = [];
  try {
    for (;;) {
      const id = await applyNext(client, migrations);
      if (id === null) break;
      done.push(id);
    }
  } catch (err) {
    // The connection may be what failed: it must not go back to the pool.
    client.release(true);
    throw err;
  }
  client.release();
  return done;
}
