import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { insertRun } from '../../test/store-contract/fixtures.js';
import type { GuardReason } from '../core/run.js';
import { SqliteRunStore } from '../history/sqlite/sqlite-store.js';
import { claimNext } from './claim.js';

let store: SqliteRunStore | null = null;
afterEach(async () => {
  await store?.close();
  store = null;
});

async function fresh(): Promise<SqliteRunStore> {
  store = new SqliteRunStore({ path: path.join(mkdtempSync(path.join(tmpdir(), 'remediator-claim-')), 'db.sqlite') });
  await store.open();
  return store;
}

function recorder(): { seen: [string, GuardReason][]; onDecision: (id: string, r: GuardReason) => void } {
  const seen: [string, GuardReason][] = [];
  return { seen, onDecision: (id, r) => void seen.push([id, r]) };
}

const opts = { owner: 'me', leaseMs: 30_000 };

describe('claimNext', () => {
  it('claims the oldest due run and hands out its fence', async () => {
    const s = await fresh();
    const first = await insertRun(s, { target: 'a' });
    await insertRun(s, { target: 'b' });
    const claimed = await claimNext(s, opts);
    expect(claimed).toEqual({ runId: first.id, fence: 1, waited: false, resumed: false });
    expect((await s.getRun(first.id))?.state).toBe('running');
  });

  it('leaves a run whose target another run holds waiting, counted once as target_busy', async () => {
    const s = await fresh();
    const holder = await insertRun(s, { target: 'gpu-1', runbook: 'gpu-oom' });
    const waiter = await insertRun(s, { target: 'gpu-1', runbook: 'llm-server-down' });
    const rec = recorder();
    expect(await claimNext(s, { ...opts, onDecision: rec.onDecision })).toMatchObject({ runId: holder.id });
    expect(await claimNext(s, { ...opts, onDecision: rec.onDecision })).toBeNull();
    expect(await claimNext(s, { ...opts, onDecision: rec.onDecision })).toBeNull();
    expect(rec.seen).toEqual([[waiter.id, 'target_busy']]);
    expect(await s.getRun(waiter.id)).toMatchObject({ state: 'pending', reason: 'target_busy' });
  });

  it('skips a run that waited longer than maxPendingAge as stale', async () => {
    const s = await fresh();
    const old = await insertRun(s, { target: 'gpu-1', maxPendingAgeMs: 0 });
    await new Promise((r) => setTimeout(r, 5));
    const rec = recorder();
    expect(await claimNext(s, { ...opts, onDecision: rec.onDecision })).toBeNull();
    expect(rec.seen).toEqual([[old.id, 'stale']]);
    expect(await s.getRun(old.id)).toMatchObject({ state: 'skipped', reason: 'stale' });
  });

  it('starts nothing while the kill switch is thrown, and the run waits for resume', async () => {
    const s = await fresh();
    const run = await insertRun(s);
    await s.setGlobalPause(true);
    expect(await claimNext(s, opts)).toBeNull();
    await s.setGlobalPause(false);
    expect(await claimNext(s, opts)).toMatchObject({ runId: run.id });
  });

  it('holds the pending runs of a paused runbook but not those of others', async () => {
    const s = await fresh();
    await insertRun(s, { runbook: 'gpu-oom', target: 'a' });
    const other = await insertRun(s, { runbook: 'gpu-xid', target: 'b' });
    await s.setRunbookPause('gpu-oom', true);
    expect(await claimNext(s, opts)).toMatchObject({ runId: other.id });
    expect(await claimNext(s, opts)).toBeNull();
  });

  it('does not claim a deferred run before its cooldown ends', async () => {
    const s = await fresh();
    await insertRun(s, { notBefore: Date.now() + 60_000, reason: 'cooldown' });
    expect(await claimNext(s, opts)).toBeNull();
  });

  it('leaves a run waiting as pool_busy while its pool is full, across runbooks', async () => {
    const s = await fresh();
    const first = await insertRun(s, { runbook: 'gpu-oom', target: 'a', pool: 'llama', maxConcurrentPerPool: 1 });
    const second = await insertRun(s, { runbook: 'llm-server-down', target: 'b', pool: 'llama', maxConcurrentPerPool: 1 });
    const other = await insertRun(s, { runbook: 'gpu-oom', target: 'c', pool: 'mistral', maxConcurrentPerPool: 1 });
    const rec = recorder();
    expect(await claimNext(s, { ...opts, onDecision: rec.onDecision })).toMatchObject({ runId: first.id });
    expect(await claimNext(s, { ...opts, onDecision: rec.onDecision })).toMatchObject({ runId: other.id });
    expect(rec.seen).toEqual([[second.id, 'pool_busy']]);
    expect(await s.getRun(second.id)).toMatchObject({ state: 'pending', reason: 'pool_busy' });
  });

  it('lets two runs of a pool with maxConcurrentPerPool 2 run at once', async () => {
    const s = await fresh();
    await insertRun(s, { target: 'a', pool: 'llama', maxConcurrentPerPool: 2 });
    await insertRun(s, { target: 'b', pool: 'llama', maxConcurrentPerPool: 2 });
    expect(await claimNext(s, opts)).not.toBeNull();
    expect(await claimNext(s, opts)).not.toBeNull();
  });

  it('holds every run as rate_limited once a minute\'s starts reach the limit', async () => {
    const s = await fresh();
    await insertRun(s, { target: 'a' });
    const b = await insertRun(s, { target: 'b' });
    const rec = recorder();
    const limited = { ...opts, maxRunStartsPerMinute: 1, onDecision: rec.onDecision };
    expect(await claimNext(s, limited)).not.toBeNull();
    expect(await claimNext(s, limited)).toBeNull();
    expect(rec.seen).toEqual([[b.id, 'rate_limited']]);
    expect(await claimNext(s, { ...opts, maxRunStartsPerMinute: 2 })).toMatchObject({ runId: b.id, waited: true });
  });
});
