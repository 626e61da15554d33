import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { RemediatorError } from '../core/errors.js';
import type { RunCounts } from '../history/run-store.js';
import { countStoreError, createMetrics, initRunbookSeries, STORE_ERROR_STAGES, TIER_OUTCOMES, type StoreScrape } from './metrics.js';

/** The value of one series of a metric in the registry's text, or undefined when the series is not there. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A store read that counts its calls and answers what the test says. */
function counting(answer: () => Promise<RunCounts>): { scrape: StoreScrape & { draining: () => boolean }; calls: () => number; drain: () => void } {
  let calls = 0;
  let draining = false;
  return {
    scrape: {
      counts: () => {
        calls++;
        return answer();
      },
      draining: () => draining,
      timeoutMs: 100,
    },
    calls: () => calls,
    drain: () => void (draining = true),
  };
}

describe('createMetrics', () => {
  it('initialises the webhook codes and the store error stages to zero', async () => {
    const text = await createMetrics(new Registry()).registry.metrics();
    for (const code of ['200', '400', '401', '413', '415', '503']) expect(sample(text, `remediator_webhook_deliveries_total{code="${code}"}`)).toBe(0);
    for (const stage of STORE_ERROR_STAGES) expect(sample(text, `remediator_store_errors_total{stage="${stage}"}`)).toBe(0);
  });

  it('leaves the store-read gauges at 0 without a store to read', async () => {
    const text = await createMetrics(new Registry()).registry.metrics();
    expect([sample(text, 'remediator_runs_awaiting_approval'), sample(text, 'remediator_runs_lease_expired'), sample(text, 'remediator_ready')]).toEqual([0, 0, 0]);
  });
});

describe('the gauges read from the store at scrape time', () => {
  it('show the store-wide counts and readiness, with one store read per scrape', async () => {
    let counts: RunCounts = { awaitingApproval: 3, leaseExpired: 1 };
    const store = counting(async () => counts);
    const m = createMetrics(new Registry(), store.scrape);
    const first = await m.registry.metrics();
    expect([sample(first, 'remediator_runs_awaiting_approval'), sample(first, 'remediator_runs_lease_expired'), sample(first, 'remediator_ready')]).toEqual([3, 1, 1]);
    expect(store.calls()).toBe(1);
    counts = { awaitingApproval: 0, leaseExpired: 0 };
    const second = await m.registry.metrics();
    expect([sample(second, 'remediator_runs_awaiting_approval'), sample(second, 'remediator_runs_lease_expired')]).toEqual([0, 0]);
    expect(store.calls()).toBe(2);
  });

  it('report not ready while the replica drains, though the store answers', async () => {
    const store = counting(async () => ({ awaitingApproval: 0, leaseExpired: 0 }));
    const m = createMetrics(new Registry(), store.scrape);
    store.drain();
    expect(sample(await m.registry.metrics(), 'remediator_ready')).toBe(0);
  });

  it.each([
    ['fails', () => Promise.reject(new RemediatorError('STORE_UNAVAILABLE', 'down'))],
    ['does not answer within the scrape timeout', () => new Promise<RunCounts>(() => undefined)],
  ])('answer NaN and not ready, and count a scrape store error, when the store %s', async (_what, answer) => {
    const m = createMetrics(new Registry(), counting(answer).scrape);
    const started = Date.now();
    const text = await m.registry.metrics();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(sample(text, 'remediator_runs_awaiting_approval')).toBeNaN();
    expect(sample(text, 'remediator_runs_lease_expired')).toBeNaN();
    expect(sample(text, 'remediator_ready')).toBe(0);
    expect(sample(text, 'remediator_store_errors_total{stage="scrape"}')).toBe(1);
  });

  it('never holds more than one read of a store that hangs: the next scrape waits for the same read', async () => {
    let answer: (counts: RunCounts) => void = () => undefined;
    const hung = new Promise<RunCounts>((resolve) => {
      answer = resolve;
    });
    const store = counting(() => hung);
    const m = createMetrics(new Registry(), store.scrape);
    expect(sample(await m.registry.metrics(), 'remediator_ready')).toBe(0);
    expect(sample(await m.registry.metrics(), 'remediator_store_errors_total{stage="scrape"}')).toBe(2);
    expect(store.calls()).toBe(1);
    answer({ awaitingApproval: 2, leaseExpired: 0 });
    await hung;
    expect(sample(await m.registry.metrics(), 'remediator_runs_awaiting_approval')).toBe(2);
    expect(store.calls()).toBe(2);
  });
});

describe('initRunbookSeries', () => {
  it('initialises every tier outcome of every loaded tier and the recovery histogram of every fault class to zero', async () => {
    const m = createMetrics(new Registry());
    initRunbookSeries(m, [{ name: 'gpu-oom', faultClass: 'oom', tiers: [{ name: 'instance' }, { name: 'service' }] }]);
    const tiers = (await m.tierOutcomes.get()).values.map((v) => `${v.labels.runbook}/${v.labels.tier}/${v.labels.outcome}=${v.value}`);
    expect(tiers.sort()).toEqual(['instance', 'service'].flatMap((tier) => TIER_OUTCOMES.map((o) => `gpu-oom/${tier}/${o}=0`)).sort());
    const text = await m.registry.metrics();
    for (const outcome of ['succeeded', 'failed', 'canceled', 'interrupted']) {
      expect(text).toMatch(new RegExp(`^remediator_recovery_seconds_count\\{(?=[^}]*fault_class="oom")(?=[^}]*outcome="${outcome}")[^}]*\\} 0$`, 'm'));
    }
  });
});

describe('countStoreError', () => {
  it('counts a store that could not answer and nothing else', async () => {
    const m = createMetrics(new Registry());
    countStoreError(m, 'claim', new RemediatorError('STORE_UNAVAILABLE', 'down'));
    countStoreError(m, 'claim', new RemediatorError('CONFLICT', 'another worker took it'));
    countStoreError(m, 'claim', new Error('a bug'));
    countStoreError(undefined, 'claim', new RemediatorError('STORE_UNAVAILABLE', 'no metrics given'));
    expect(sample(await m.registry.metrics(), 'remediator_store_errors_total{stage="claim"}')).toBe(1);
  });
});
