import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { pino } from 'pino';
import type { RunDetail } from '../../src/core/run.js';
import type { VerifyDef } from '../../src/core/runbook.js';
import type { TierVerification, VerifyTier } from '../../src/execute/run-walk.js';
import { isAlertFiring } from '../../src/verify/alert-firing.js';
import { createPrometheusClient, type PrometheusClient } from '../../src/verify/prometheus-client.js';
import { PrometheusError } from '../../src/verify/prometheus-error.js';
import { isEmpty } from '../../src/verify/query-result.js';
import { createTierVerifier, NOT_CONFIGURED } from '../../src/verify/tier-verifier.js';
import type { VerifyRecord } from '../../src/verify/verify-record.js';
import { stopAll } from '../support/child.js';
import { startExporter, type ExporterHandle } from '../support/exporter.js';
import { freePort } from '../support/free-port.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { waitFor } from '../support/wait-for.js';
import { earlierTier, runFor, tierWith } from './verify-input.js';

const RULES = `
groups:
  - name: verify-test
    rules:
      - alert: VerifyTestDown
        expr: verify_test_down == 1
        for: 0s
        labels: { severity: critical }
      - alert: VerifyTestPending
        expr: verify_test_pending == 1
        for: 1h
`;

const logger = pino({ level: 'silent' });

/** A real client that remembers when each answer was non-empty, and can be told to fail some queries. */
function watched(real: PrometheusClient, failEvery = 0): PrometheusClient & { answers: Array<{ at: number; nonEmpty: boolean }> } {
  const answers: Array<{ at: number; nonEmpty: boolean }> = [];
  let calls = 0;
  return {
    url: real.url,
    answers,
    query: async (promql, options) => {
      calls++;
      if (failEvery > 0 && calls % failEvery === 0) throw new PrometheusError('unavailable', 'injected: Prometheus is restarting');
      const result = await real.query(promql, options);
      answers.push({ at: Date.now(), nonEmpty: !isEmpty(result) });
      return result;
    },
  };
}

/** The longest time from the first to the last of consecutive non-empty answers. */
function longestStreakMs(answers: ReadonlyArray<{ at: number; nonEmpty: boolean }>): number {
  let longest = 0;
  let since: number | null = null;
  for (const a of answers) {
    since = a.nonEmpty ? (since ?? a.at) : null;
    if (since !== null) longest = Math.max(longest, a.at - since);
  }
  return longest;
}

function promql(query: string, everyMs: number, withinMs: number, stableForMs: number): VerifyDef<string> {
  return { kind: 'promql', query, everyMs, withinMs, stableForMs };
}

function alertResolved(everyMs: number, withinMs: number, stableForMs: number): VerifyDef<string> {
  return { kind: 'alertResolved', everyMs, withinMs, stableForMs };
}

async function verify(verifier: VerifyTier, v: VerifyDef<string> | null, run: RunDetail, signal = new AbortController().signal): Promise<TierVerification & { record: VerifyRecord }> {
  const tierIndex = run.tiers.length;
  const result = await verifier({ runId: run.id, tierIndex, tier: tierWith(v), run, signal });
  return { ...result, record: result.record as VerifyRecord };
}

describe('createTierVerifier against a real Prometheus', () => {
  let exporter: ExporterHandle;
  let prom: PrometheusHandle;
  let client: PrometheusClient;
  let verifier: VerifyTier;
  /** VerifyTestDown as Alertmanager sends it: the series' labels plus an external label the series lacks. */
  let downAlert: Record<string, string>;

  beforeAll(async () => {
    exporter = await startExporter();
    exporter.set('verify_test_value', 0, { case: 'flip' });
    exporter.set('verify_test_value', 0, { case: 'never' });
    exporter.set('verify_test_value', 1, { case: 'steady' });
    exporter.set('verify_test_value', 0, { case: 'flap' });
    exporter.set('verify_test_down', 1, { node: 'n1' });
    exporter.set('verify_test_pending', 1, { node: 'n1' });
    prom = await startPrometheus({ rules: RULES, scrapeTargets: [exporter.hostPort] });
    client = createPrometheusClient({ url: prom.url, timeoutMs: 5000 });
    verifier = createTierVerifier({ prometheus: client, logger });
    downAlert = { alertname: 'VerifyTestDown', severity: 'critical', node: 'n1', instance: exporter.hostPort, job: 'test', cluster: 'prod-eu' };
    await waitFor(async () => ((await isAlertFiring(client, runFor(downAlert).alert.labels)) ? true : undefined), { description: 'VerifyTestDown firing', timeoutMs: 20_000 });
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await exporter?.close();
    await stopAll();
  });

  it('answers unverified but ok, with no record, for a tier without verify', async () => {
    expect(await verifier({ runId: 'R', tierIndex: 0, tier: tierWith(null), run: runFor({ alertname: 'X' }), signal: new AbortController().signal })).toEqual({ verified: false, ok: true });
  });

  it('verifies a promql check once the gauge flips and the result holds for stableFor', async () => {
    const flipAt = Date.now() + 1000;
    const timer = setTimeout(() => exporter.set('verify_test_value', 1, { case: 'flip' }), 1000);
    const r = await verify(verifier, promql('verify_test_value{case="flip"} == 1', 250, 10_000, 1000), runFor({ alertname: 'X' }));
    clearTimeout(timer);
    expect([r.verified, r.ok, r.record.outcome]).toEqual([true, true, 'verified']);
    expect(Date.parse(r.record.endedAt ?? '') - flipAt).toBeGreaterThanOrEqual(1000);
    expect(Date.parse(r.record.endedAt ?? '') - Date.parse(r.record.holdingSince ?? '')).toBeGreaterThanOrEqual(1000);
    expect(r.record).toMatchObject({ kind: 'promql', query: 'verify_test_value{case="flip"} == 1', errors: 0, error: null, everyMs: 250, withinMs: 10_000, stableForMs: 1000 });
    expect(r.record.checks).toBeGreaterThanOrEqual(5);
    expect(r.record.lastResult).toMatchObject({ resultType: 'vector', series: 1, truncated: false, text: expect.stringContaining('case="flip"') });
    // Each check is kept for the timeline, in time order: not holding before the flip, holding from it to the end.
    const marks = r.record.recentChecks ?? [];
    expect(marks).toHaveLength(r.record.checks);
    expect(marks.map((m) => Date.parse(m.at))).toEqual([...marks.map((m) => Date.parse(m.at))].sort((a, b) => a - b));
    expect([marks[0]?.result, marks.at(-1)?.result]).toEqual(['not_held', 'held']);
    expect(marks.filter((m) => Date.parse(m.at) >= Date.parse(r.record.holdingSince ?? '')).every((m) => m.result === 'held')).toBe(true);
  });

  it('times out at within when the result never holds, having polled every `every`', async () => {
    const started = Date.now();
    const r = await verify(verifier, promql('verify_test_value{case="never"} == 1', 250, 2000, 500), runFor({ alertname: 'X' }));
    expect([r.verified, r.ok, r.record.outcome]).toEqual([false, false, 'timed_out']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(r.record.checks).toBeGreaterThanOrEqual(7);
    expect(r.record.checks).toBeLessThanOrEqual(10);
    expect(r.record.lastResult).toMatchObject({ series: 0, text: 'empty vector: no series matched\n' });
    expect(r.record.holdingSince).toBeNull();
  });

  it('restarts the stableFor clock when the result flaps, so a flapping fix never verifies', async () => {
    let seen = exporter.scrapes();
    let value = 0;
    // Flip after every scrape, so that Prometheus sees the value change at each one.
    const flipper = setInterval(() => {
      if (exporter.scrapes() === seen) return;
      seen = exporter.scrapes();
      value = 1 - value;
      exporter.set('verify_test_value', value, { case: 'flap' });
    }, 20);
    const spy = watched(client);
    const r = await verify(createTierVerifier({ prometheus: spy, logger }), promql('verify_test_value{case="flap"} == 1', 200, 6000, 1500), runFor({ alertname: 'X' }));
    clearInterval(flipper);
    expect(r.record.outcome).toBe('timed_out');
    // Counted together, the non-empty answers span more than stableFor; in a row, they never did.
    expect(spy.answers.filter((a) => a.nonEmpty).length * 200).toBeGreaterThan(1500);
    expect(longestStreakMs(spy.answers)).toBeLessThan(1500);
    expect(spy.answers.filter((a) => !a.nonEmpty).length).toBeGreaterThan(3);
  });

  it('verifies a steady result, the control for the flapping and failing cases', async () => {
    const r = await verify(verifier, promql('verify_test_value{case="steady"} == 1', 200, 5000, 500), runFor({ alertname: 'X' }));
    expect(r.record.outcome).toBe('verified');
    expect(r.record.checks).toBeGreaterThanOrEqual(3);
    expect(r.record.checks).toBeLessThanOrEqual(6);
  });

  it('counts a failed query as a break in the streak, never as success', async () => {
    const spy = watched(client, 3);
    const r = await verify(createTierVerifier({ prometheus: spy, logger }), promql('verify_test_value{case="steady"} == 1', 200, 3000, 500), runFor({ alertname: 'X' }));
    expect(r.record.outcome).toBe('timed_out');
    expect(r.record.errors).toBeGreaterThanOrEqual(4);
    expect(r.record.error).toContain('injected: Prometheus is restarting');
    expect(spy.answers.every((a) => a.nonEmpty)).toBe(true);
    expect((r.record.recentChecks ?? []).filter((m) => m.result === 'error')).toHaveLength(r.record.errors);
  });

  it.each([
    ['a query Prometheus rejects', 'verify_test_value{', 'bad_data'],
    ['a query that fails to evaluate', 'vector(1) + on() (label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", ""))', 'execution'],
  ])('fails with outcome error, the error recorded, for %s', async (_what, query, kind) => {
    const r = await verify(verifier, promql(query, 250, 1500, 0), runFor({ alertname: 'X' }));
    expect([r.verified, r.ok, r.record.outcome]).toEqual([false, false, 'error']);
    expect(r.record.errors).toBe(r.record.checks);
    expect(r.record.checks).toBeGreaterThanOrEqual(5);
    expect(r.record.error).toContain(`(${kind})`);
    expect(r.record.lastResult).toMatchObject({ error: expect.stringContaining(kind) });
  });

  it('fails with outcome error when Prometheus cannot be reached', async () => {
    const down = createPrometheusClient({ url: `http://127.0.0.1:${await freePort()}` });
    const r = await verify(createTierVerifier({ prometheus: down, logger }), alertResolved(200, 1000, 0), runFor(downAlert));
    expect([r.ok, r.record.outcome, r.record.seenFiringAt]).toEqual([false, 'error', null]);
    expect(r.record.error).toContain('is unavailable');
  });

  it('fails at once, saying so, when Prometheus is not configured', async () => {
    const started = Date.now();
    const r = await verify(createTierVerifier({ prometheus: null, logger }), promql('up', 1000, 60_000, 0), runFor({ alertname: 'X' }));
    expect(Date.now() - started).toBeLessThan(500);
    expect([r.verified, r.ok, r.record.outcome, r.record.checks]).toEqual([false, false, 'error', 0]);
    expect(r.record.error).toBe(NOT_CONFIGURED);
    expect(NOT_CONFIGURED).toContain('prometheus.url is not configured');
  });

  it('verifies alertResolved once the alert, seen firing, is gone for stableFor', async () => {
    let clearedAt = 0;
    const timer = setTimeout(() => {
      clearedAt = Date.now();
      exporter.set('verify_test_down', 0, { node: 'n1' });
    }, 1500);
    const r = await verify(verifier, alertResolved(250, 15_000, 1000), runFor(downAlert));
    clearTimeout(timer);
    expect([r.verified, r.ok, r.record.outcome]).toEqual([true, true, 'verified']);
    expect(r.record.query).toBe('ALERTS{alertname="VerifyTestDown"}');
    const seen = Date.parse(r.record.seenFiringAt ?? '');
    expect(seen).toBeLessThan(clearedAt);
    expect(Date.parse(r.record.endedAt ?? '') - clearedAt).toBeGreaterThanOrEqual(1000);
    expect(r.record.lastResult).toMatchObject({ series: 0 });
  });

  it('fails as alert_not_found when the alert is never seen firing, though ALERTS answers empty throughout', async () => {
    const r = await verify(verifier, alertResolved(250, 2000, 250), runFor({ ...downAlert, node: 'n2' }));
    expect([r.verified, r.ok, r.record.outcome, r.record.seenFiringAt]).toEqual([false, false, 'alert_not_found', null]);
    expect(r.record.errors).toBe(0);
    expect(r.record.lastResult).toMatchObject({ series: 0 });
  });

  it('takes the alert as seen when an earlier tier of the run saw it firing', async () => {
    const seen = new Date(Date.now() - 60_000).toISOString();
    const r = await verify(verifier, alertResolved(250, 3000, 500), runFor({ ...downAlert, node: 'n2' }, [earlierTier(seen)]));
    expect([r.verified, r.record.outcome, r.record.seenFiringAt]).toEqual([true, 'verified', seen]);
  });

  it('does not take a pending ALERTS series as gone', async () => {
    await waitFor(async () => ((await client.query('ALERTS{alertname="VerifyTestPending", alertstate="pending"}')).result as unknown[]).length > 0 || undefined, {
      description: 'VerifyTestPending pending',
    });
    const labels = { alertname: 'VerifyTestPending', node: 'n1', instance: exporter.hostPort, job: 'test' };
    const r = await verify(verifier, alertResolved(250, 1500, 250), runFor(labels, [earlierTier(new Date().toISOString())]));
    expect(r.record.outcome).toBe('timed_out');
    expect(r.record.lastResult).toMatchObject({ series: 1, text: expect.stringContaining('alertstate="pending"') });
  });

  it('returns promptly as canceled when its signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('canceled')), 500);
    const started = Date.now();
    const r = await verify(verifier, promql('verify_test_value{case="never"} == 1', 1000, 30_000, 0), runFor({ alertname: 'X' }), controller.signal);
    expect(Date.now() - started).toBeLessThan(1500);
    expect([r.verified, r.ok, r.record.outcome]).toEqual([false, false, 'canceled']);
  });
});
