import { describe, it, expect } from '@jest/globals';
import { createLogger } from '../observability/logger.js';
import type { ClaimedRun } from './run-executor.js';
import { createWorkerPool } from './worker-pool.js';

const logger = createLogger({ level: 'silent' });

/** A claim function over an in-memory queue, as the guard's claim would be over the store. */
function queue() {
  const items: ClaimedRun[] = [];
  return { items, claim: async () => items.shift() ?? null };
}

describe('createWorkerPool', () => {
  it('starts a run on wake without waiting for the (minute-long) poll interval', async () => {
    const q = queue();
    const started: number[] = [];
    const pool = createWorkerPool({ size: 2, claim: q.claim, execute: async () => void started.push(Date.now()), pollMs: 60_000, logger });
    pool.start();
    await new Promise((r) => setTimeout(r, 20));
    q.items.push({ runId: 'a', fence: 1 });
    const woken = Date.now();
    pool.wake();
    for (let i = 0; i < 100 && started.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(started).toHaveLength(1);
    expect((started[0] ?? Infinity) - woken).toBeLessThan(2_000);
    expect(await pool.drain(1000)).toBe(true);
  });

  it('looks again when a wake came while its claim was under way, instead of sleeping through the new run', async () => {
    const items: ClaimedRun[] = [];
    let claimStarted: () => void = () => undefined;
    const firstClaim = new Promise<void>((resolve) => (claimStarted = resolve));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let claims = 0;
    const claim = async (): Promise<ClaimedRun | null> => {
      claims += 1;
      if (claims === 1) {
        // The first claim reads an empty queue, then the run is committed and woken before it returns.
        const seen = items.shift() ?? null;
        claimStarted();
        await gate;
        return seen;
      }
      return items.shift() ?? null;
    };
    const started: string[] = [];
    const pool = createWorkerPool({ size: 1, claim, execute: async (c) => void started.push(c.runId), pollMs: 60_000, logger });
    pool.start();
    await firstClaim;
    items.push({ runId: 'late', fence: 1 });
    pool.wake();
    release();
    for (let i = 0; i < 100 && started.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(started).toEqual(['late']);
    expect(await pool.drain(1000)).toBe(true);
  });

  it('runs no more than size runs at once, and drains them all', async () => {
    const q = queue();
    for (let i = 0; i < 6; i++) q.items.push({ runId: `r${i}`, fence: 1 });
    let active = 0;
    let peak = 0;
    const done: string[] = [];
    const pool = createWorkerPool({
      size: 3,
      claim: q.claim,
      execute: async (c) => {
        active += 1;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 30));
        active -= 1;
        done.push(c.runId);
      },
      pollMs: 10,
      logger,
    });
    pool.start();
    await new Promise((r) => setTimeout(r, 150));
    expect(await pool.drain(1000)).toBe(true);
    expect(peak).toBe(3);
    expect(done.sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
  });

  it('keeps working after a claim throws, and says when drain ran out of time', async () => {
    let calls = 0;
    let release: () => void = () => undefined;
    const pool = createWorkerPool({
      size: 1,
      claim: async () => {
        calls += 1;
        if (calls === 1) throw new Error('store busy');
        return calls === 2 ? { runId: 'slow', fence: 1 } : null;
      },
      execute: () => new Promise<void>((r) => (release = r)),
      pollMs: 10,
      logger,
    });
    pool.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(pool.busy()).toBe(1);
    expect(await pool.drain(50)).toBe(false);
    release();
  });
});
