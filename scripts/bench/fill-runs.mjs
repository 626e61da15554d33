/**
 * A SQLite run store with 1,000,000 runs for the listing benchmark, cached under .tmp/bench/ and rebuilt only when the
 * schema (the migrations) or this generator changes. The schema comes from the store itself: SqliteRunStore migrates a
 * fresh file, then the rows go in with better-sqlite3 in one transaction, the list indexes dropped during the insert and
 * recreated from their own CREATE statements afterwards (sorting once is much faster than a million index inserts).
 */

import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../dist/history/sqlite/migrations.js';
import { SqliteRunStore } from '../../dist/history/sqlite/sqlite-store.js';
import { REPO_ROOT, nowMs } from './lib.mjs';

const GENERATOR_VERSION = 1;
const DAY_MS = 86_400_000;

/** The shape of the generated data, which the queries pick their filter values from. */
export const SHAPE = Object.freeze({
  rows: 1_000_000,
  spanMs: 30 * DAY_MS,
  runbooks: 40,
  targets: 5000,
  fingerprints: 50_000,
  alertnames: 20,
  pending: 50,
});

const FAULTS = ['oom', 'queue-backlog', 'version-mismatch', 'hung', 'down', 'gpu-xid'];
// Final states by share (per 1000), then what a run in them records as its reason.
const STATES = [
  ['succeeded', 800, 'verified'],
  ['failed', 100, 'steps_failed'],
  ['skipped', 40, 'precheck_failed'],
  ['canceled', 30, 'canceled'],
  ['shadow', 20, 'shadow'],
  ['interrupted', 10, 'interrupted'],
];
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The filter values of row i, shared with the queries so that they ask for values that exist. */
export function runbookName(k) {
  return `rb-${FAULTS[k % FAULTS.length]}-${k}`;
}
export function targetName(k) {
  return `gpu-${k}.fleet.internal`;
}
export function alertName(k) {
  return `LLMFault${k}`;
}
export function fingerprint(k) {
  return createHash('sha1').update(`fp-${k}`).digest('hex').slice(0, 16);
}

function ulid(ms, rnd) {
  let t = '';
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    t = ALPHABET[rest % 32] + t;
    rest = Math.floor(rest / 32);
  }
  let r = '';
  for (let i = 0; i < 16; i++) r += ALPHABET[rnd[i] % 32];
  return t + r;
}

function stateOf(i) {
  let k = (i * 7919) % 1000;
  for (const [state, share, reason] of STATES) {
    if (k < share) return [state, reason];
    k -= share;
  }
  return ['succeeded', 'verified'];
}

/** Inserts the rows; created_at runs from endMs - spanMs to endMs, so a newest-first page starts at the end. */
function insertRows(db, endMs) {
  const fps = Array.from({ length: SHAPE.fingerprints }, (_, k) => fingerprint(k));
  const insert = db.prepare(
    `INSERT INTO runs (id, runbook, runbook_hash, fault_class, target, pool, mode, state, reason, alertname, fingerprint, starts_at,
       alert_json, params_json, plan_json, created_at, not_before, max_pending_age_ms, started_at, ended_at, executed)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const hash = createHash('sha256').update('bench').digest('hex');
  const farFuture = Date.parse('2100-01-01T00:00:00Z');
  const rnd = randomBytes(16 * 4096);
  const startMs = endMs - SHAPE.spanMs;
  for (let i = 0; i < SHAPE.rows; i++) {
    const createdAt = startMs + Math.floor((i * SHAPE.spanMs) / SHAPE.rows);
    // Skewed like a real fleet: a few runbooks and targets account for most runs.
    const rb = Math.floor(SHAPE.runbooks * ((i * 2654435761) % 4294967296 / 4294967296) ** 2);
    const target = (i * 104729) % SHAPE.targets;
    const fpIndex = (i * 15485863) % SHAPE.fingerprints;
    const pending = i >= SHAPE.rows - SHAPE.pending;
    const [state, reason] = pending ? ['pending', 'cooldown'] : stateOf(i);
    const name = alertName(rb % SHAPE.alertnames);
    const host = targetName(target);
    const startsAt = new Date(createdAt - 30_000).toISOString();
    const alert = `{"status":"firing","labels":{"alertname":"${name}","instance":"${host}:8000","job":"vllm","severity":"critical","model_name":"llama-3-8b"},"annotations":{"summary":"${name} on ${host}:8000"},"startsAt":"${startsAt}","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph","fingerprint":"${fps[fpIndex]}"}`;
    const plan = `{"tiers":[{"name":"instance","steps":[{"name":"restart","kind":"run","argv":["sudo","-n","systemctl","restart","vllm@${host}"],"timeoutMs":300000}]}],"env":{"PARAM_HOST":"${host}","ALERT_NAME":"${name}","ALERT_FINGERPRINT":"${fps[fpIndex]}"},"cancelOnResolve":false}`;
    const final = state !== 'pending';
    insert.run(
      ulid(createdAt, rnd.subarray((i % 4096) * 16, (i % 4096) * 16 + 16)),
      runbookName(rb), hash, FAULTS[rb % FAULTS.length], host, null, state === 'shadow' ? 'shadow' : 'enforce', state, reason,
      name, fps[fpIndex], startsAt, alert, `{"host":"${host}"}`, plan, createdAt, pending ? farFuture : createdAt, 900_000,
      final && state !== 'shadow' && state !== 'skipped' ? createdAt + 50 : null, final ? createdAt + 60_000 : null,
      state === 'succeeded' || state === 'failed' || state === 'interrupted' ? 1 : 0,
    );
    // Fresh randomness now and then keeps ids made in one millisecond distinct without a call per row.
    if (i % 4096 === 4095) randomBytes(16 * 4096).copy(rnd);
  }
}

function fill(file, endMs) {
  fs.rmSync(file, { force: true });
  for (const suffix of ['-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  const store = new SqliteRunStore({ path: file });
  return store
    .open()
    .then(() => store.close())
    .then(() => {
      const db = new Database(file);
      try {
        db.pragma('journal_mode = DELETE');
        db.pragma('synchronous = OFF');
        db.pragma('cache_size = -1000000');
        const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs' AND sql IS NOT NULL").all();
        db.transaction(() => {
          for (const ix of indexes) db.exec(`DROP INDEX ${ix.name}`);
          insertRows(db, endMs);
          for (const ix of indexes) db.exec(ix.sql);
        })();
        db.pragma('journal_mode = WAL');
      } finally {
        db.close();
      }
    });
}

/** The path of a store holding SHAPE.rows runs, filled now or taken from the cache; endMs is its newest createdAt. */
export async function filledRunsDb(log) {
  const dir = path.join(REPO_ROOT, '.tmp', 'bench');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'runs-1m.db');
  const metaFile = path.join(dir, 'runs-1m.json');
  const key = createHash('sha256').update(JSON.stringify({ MIGRATIONS, SHAPE, GENERATOR_VERSION })).digest('hex');
  try {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    if (meta.key === key && fs.existsSync(file)) {
      log(`  using the cached store ${path.relative(REPO_ROOT, file)} (${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB); delete it to refill`);
      return { file, endMs: meta.endMs };
    }
  } catch {
    // No cache, or an unreadable one: fill afresh.
  }
  fs.rmSync(metaFile, { force: true });
  const endMs = Date.now();
  const t0 = nowMs();
  await fill(file, endMs);
  fs.writeFileSync(metaFile, JSON.stringify({ key, endMs, rows: SHAPE.rows }));
  log(`  filled ${SHAPE.rows} runs into ${path.relative(REPO_ROOT, file)} in ${((nowMs() - t0) / 1000).toFixed(1)} s (${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB)`);
  return { file, endMs };
}
