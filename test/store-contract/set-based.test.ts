/**
 * Set-based deciding: the statements a delivery sends to the store do not grow with the alerts it carries, on SQLite and
 * on PostgreSQL, for each kind of delivery (new episodes that make runs, their repeats, alerts no runbook matches).
 * Statements are counted where each driver executes them: better-sqlite3's Statement and node-postgres' Client.query.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import pg from 'pg';
import { labelSet, type Alert } from '../../src/core/alert.js';
import { canonicalInstant } from '../../src/core/instant.js';
import type { Runbook } from '../../src/core/runbook.js';
import type { RunStore } from '../../src/history/run-store.js';
import { PostgresRunStore } from '../../src/history/postgres/postgres-store.js';
import { SqliteRunStore } from '../../src/history/sqlite/sqlite-store.js';
import { compileRunbook } from '../../src/match/load-runbook.js';
import { createDelivery } from '../../src/pipeline.js';
import { dropDatabase, testDatabase } from '../support/postgres.js';
import { makeAlert } from './fixtures.js';

let counted = 0;
/** Wraps a prototype's methods so that every call counts as one statement sent. */
function countCalls(proto: Record<string, unknown>, names: readonly string[]): () => void {
  const originals = names.map((name) => [name, proto[name]] as const);
  for (const [name, original] of originals) {
    proto[name] = function (this: unknown, ...args: unknown[]) {
      counted++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
  return () => {
    for (const [name, original] of originals) proto[name] = original;
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const RUNBOOK: Runbook = (() => {
  const text = [
    'name: set-based', 'faultClass: oom', 'match:', '  - alertname = "LLMServerDown"', 'params:',
    "  host: { from: labels.instance, pattern: '[a-z0-9-]+' }", 'target: "{{ params.host }}"',
    'safety: { fleetBreaker: { maxTargets: 10000, per: 10m } }',
    'tiers:', '  - name: only', '    steps:', '      - name: ok', '        run: ["true"]', '',
  ].join('\n');
  const loaded = compileRunbook('set-based.yaml', text);
  if (loaded.runbook === undefined) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
  return loaded.runbook;
})();

function alerts(prefix: string, n: number, alertname = 'LLMServerDown'): Alert[] {
  return Array.from({ length: n }, (_, i) => ({ ...makeAlert(), labels: labelSet([['alertname', alertname], ['instance', `${prefix}-${i}`]]) }));
}

/** The delivery path on this store: LLMServerDown alerts match RUNBOOK (every alert, when matchAll), the rest nothing. */
function deliveryOn(store: RunStore, matchAll = false): ReturnType<typeof createDelivery> {
  return createDelivery({
    match: (alert) => (matchAll || alert.labels['alertname'] === 'LLMServerDown' ? [RUNBOOK] : []),
    commit: (guard) => store.transact(guard),
    plan: { publicURL: 'http://remediator.test' },
    afterCommit: () => undefined,
  });
}

/** How many statements one delivery of these alerts sends. */
async function statementsOf(store: RunStore, batch: readonly Alert[]): Promise<number> {
  const deliver = deliveryOn(store);
  const before = counted;
  await deliver(batch);
  return counted - before;
}

const STORES: [string, () => Promise<RunStore>, () => () => void][] = [
  [
    'sqlite',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remediator-set-based-'));
      const store = new SqliteRunStore({ path: path.join(dir, 'r.db') });
      await store.open();
      cleanups.push(async () => {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      });
      return store;
    },
    () => {
      const probe = new Database(':memory:');
      const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, unknown>;
      probe.close();
      return countCalls(proto, ['run', 'get', 'all', 'iterate']);
    },
  ],
  [
    'postgres',
    async () => {
      const url = await testDatabase('set_based');
      const store = new PostgresRunStore({ url });
      await store.open();
      cleanups.push(async () => {
        await store.close();
        await dropDatabase(url);
      });
      return store;
    },
    () => countCalls(pg.Client.prototype as unknown as Record<string, unknown>, ['query']),
  ],
];

describe.each(STORES)('a delivery on %s', (_name, open, count) => {
  it('sends as many statements for 200 alerts as for 2, whether they make runs, repeat them or match nothing', async () => {
    const store = await open();
    cleanups.push(count());
    const few = alerts('few', 2);
    const many = alerts('many', 200);
    const firstFew = await statementsOf(store, few);
    const firstMany = await statementsOf(store, many);
    expect(firstMany).toBe(firstFew);
    const repeatFew = await statementsOf(store, few);
    const repeatMany = await statementsOf(store, many);
    expect(repeatMany).toBe(repeatFew);
    const strayFew = await statementsOf(store, alerts('stray-few', 2, 'Unmatched'));
    const strayMany = await statementsOf(store, alerts('stray-many', 200, 'Unmatched'));
    expect(strayMany).toBe(strayFew);
    // And the runs and decisions are really there: 202 runs, each decision counting its two deliveries.
    expect((await store.listRuns({}, { limit: 500, cursor: null })).items).toHaveLength(202);
    const decisions = (await store.listDecisions({}, { limit: 1000, cursor: null })).items;
    expect(decisions.filter((d) => d.decision === 'run').map((d) => d.deliveries)).toEqual(Array.from({ length: 202 }, () => 2));
    expect(decisions.filter((d) => d.reason === 'no_match')).toHaveLength(202);
    // A bounded number, not merely an equal one.
    expect(Math.max(firstMany, repeatMany, strayMany)).toBeLessThanOrEqual(20);
  });
});

describe.each(STORES)('a repeat of a held episode on %s', (_name, open, count) => {
  it('is decided from one read of its holder: fewer statements than the first delivery, none of the pair or runbook reads', async () => {
    const store = await open();
    cleanups.push(count());
    const batch = alerts('held', 20);
    const first = await statementsOf(store, batch);
    const repeat = await statementsOf(store, batch);
    // BEGIN (with the clock on PostgreSQL), the holders, the deliveries added, COMMIT.
    expect({ first: first > repeat, repeat }).toEqual({ first: true, repeat: 4 });
    const decisions = (await store.listDecisions({}, { limit: 100, cursor: null })).items;
    expect(decisions.map((d) => [d.decision, d.reason, d.deliveries])).toEqual(Array.from({ length: 20 }, () => ['run', null, 2]));
  });
});

describe('a repeat of a held episode on postgres', () => {
  it('takes no advisory lock: it commits while another transaction holds every lock its first delivery took', async () => {
    const url = await testDatabase('held_no_lock');
    const store = new PostgresRunStore({ url });
    await store.open();
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    cleanups.push(async () => {
      await holder.end();
      await store.close();
      await dropDatabase(url);
    });
    const [alert] = alerts('locked', 1);
    if (alert === undefined) throw new Error('no alert');
    const deliver = deliveryOn(store, true);
    const firstOut = await deliver([alert]);
    expect(firstOut.runs).toHaveLength(1);
    // Every lock name a first delivery of this alert takes (delivery-io.ts), held by another session's open transaction.
    const names = [
      ['remediator:resolved', alert.fingerprint, canonicalInstant(alert.startsAt)],
      ['remediator:episode', RUNBOOK.name, alert.fingerprint, canonicalInstant(alert.startsAt)],
      ['remediator:active', RUNBOOK.name, 'locked-0'],
      ['remediator:runbook', RUNBOOK.name],
    ].map((n) => JSON.stringify(n));
    await holder.query('BEGIN');
    await holder.query('SELECT count(pg_advisory_xact_lock(hashtextextended(n, 0))) FROM unnest($1::text[]) AS n', [names]);
    const repeat = await Promise.race([deliver([alert]), new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), 5000))]);
    await holder.query('ROLLBACK');
    expect(repeat === 'blocked' ? repeat : repeat.tally).toEqual([{ decision: 'skip', reason: 'duplicate' }]);
    // A new episode of the same runbook and target still waits for those locks, as it must.
    await holder.query('BEGIN');
    await holder.query('SELECT count(pg_advisory_xact_lock(hashtextextended(n, 0))) FROM unnest($1::text[]) AS n', [names]);
    const fresh = { ...alert, startsAt: '2026-01-01T00:00:00Z' };
    const waiting = deliver([fresh]);
    const early = await Promise.race([waiting.then(() => 'committed'), new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), 1000))]);
    await holder.query('ROLLBACK');
    await waiting;
    expect(early).toBe('blocked');
  });
});

describe.each(STORES)('the episode reads of a delivery on %s', (_name, open) => {
  it('see which episodes resolved and fold the repeats of a refusal into its row', async () => {
    const store = await open();
    const deliver = deliveryOn(store);
    // Resolved before any firing copy arrived (a lagging HA peer): each later firing copy is over, and folds into one row.
    const late = alerts('late', 3).map((a) => ({ ...a, status: 'resolved' as const }));
    await deliver(late);
    const firing = late.map((a) => ({ ...a, status: 'firing' as const }));
    const strays = alerts('stray', 3, 'Unmatched');
    const first = await deliver([...firing, ...strays]);
    const again = await deliver([...firing, ...strays]);
    for (const out of [first, again]) {
      expect(out.runs).toHaveLength(0);
      expect(out.tally.map((t) => t.reason).sort()).toEqual(['no_match', 'no_match', 'no_match', 'resolved', 'resolved', 'resolved']);
    }
    const decisions = (await store.listDecisions({}, { limit: 100, cursor: null })).items;
    const byReason = (reason: string): number[] => decisions.filter((d) => d.reason === reason).map((d) => d.deliveries);
    // The resolved notification's own row (skip, resolved) takes both firing copies.
    expect(byReason('resolved')).toEqual([3, 3, 3]);
    expect(byReason('no_match')).toEqual([2, 2, 2]);
  });
});
