import { describe, expect, it } from '@jest/globals';
import type { RunSummary } from '../core/run.js';
import { overviewStats, percentile } from './overview-stats.js';

const T0 = Date.parse('2026-11-26T14:00:00.000Z');

function summary(over: Partial<RunSummary> & { ranSeconds?: number }): RunSummary {
  const { ranSeconds = 10, ...rest } = over;
  return {
    id: Math.random().toString(36), state: 'succeeded', reason: 'verified', runbook: 'rb', runbookHash: 'h', faultClass: 'oom', target: 'node-a', pool: null,
    mode: 'enforce', alertname: 'A', fingerprint: 'f', startsAt: new Date(T0).toISOString(), createdAt: new Date(T0 + 1000).toISOString(),
    startedAt: new Date(T0 + 1000).toISOString(), endedAt: new Date(T0 + ranSeconds * 1000).toISOString(), ...rest,
  };
}

describe('percentile', () => {
  it.each([
    [[], 50, 0],
    [[5], 90, 5],
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 90, 4],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5],
  ])('of %j at p%d is %d (nearest rank)', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });
});

describe('overviewStats', () => {
  const runs = [
    summary({ ranSeconds: 10 }),
    summary({ ranSeconds: 30, reason: 'unverified', target: 'node-b' }),
    summary({ ranSeconds: 20 }),
    summary({ state: 'failed', reason: 'steps_failed', target: 'node-b' }),
    summary({ state: 'skipped', reason: 'stale', faultClass: 'hung', target: 'node-b' }),
    summary({ state: 'skipped', reason: 'precheck_failed', faultClass: 'hung' }),
    summary({ state: 'interrupted', reason: 'interrupted', faultClass: 'hung', target: 'node-c' }),
    summary({ state: 'shadow', reason: 'shadow', faultClass: 'hung', endedAt: null }),
    summary({ state: 'running', reason: null, faultClass: 'hung', endedAt: null }),
    summary({ state: 'succeeded', faultClass: 'down', startsAt: new Date(T0 + 60_000).toISOString() }),
  ];

  it('counts runs by fault class and state, busiest class first', () => {
    const s = overviewStats(runs);
    expect(s.total).toBe(10);
    expect(s.byClass.map((c) => [c.faultClass, c.total])).toEqual([['hung', 5], ['oom', 4], ['down', 1]]);
    expect(s.byClass[1]?.byState).toMatchObject({ succeeded: 3, failed: 1, running: 0 });
  });

  it('takes recovery time from startsAt to endedAt over succeeded runs, verified or not, leaving out a skewed one', () => {
    const s = overviewStats(runs);
    expect(s.recovery).toEqual([
      { faultClass: 'down', n: 0, verified: 0, p50Ms: 0, p90Ms: 0, skewed: 1 },
      { faultClass: 'oom', n: 3, verified: 2, p50Ms: 20_000, p90Ms: 30_000, skewed: 0 },
    ]);
  });

  it('counts failed, interrupted and stale runs as escalated, over ended runs without shadow ones', () => {
    const s = overviewStats(runs);
    expect([s.escalated, s.ended]).toEqual([3, 8]);
    expect(s.byClass.find((c) => c.faultClass === 'hung')).toMatchObject({ escalated: 2, ended: 3 });
  });

  it('ranks targets by runs, then escalations', () => {
    expect(overviewStats(runs).targets.map((t) => [t.target, t.runs, t.escalated])).toEqual([['node-a', 6, 0], ['node-b', 3, 2], ['node-c', 1, 1]]);
  });
});
