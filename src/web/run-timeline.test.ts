import { describe, expect, it } from '@jest/globals';
import type { RunDetail, StepRecord, TierRecord } from '../core/run.js';
import type { PlannedStep, PlannedTier } from '../core/runbook.js';
import type { VerifyRecord } from '../core/verification.js';
import { runTimeline } from './run-timeline.js';
import { timelineOf } from './timeline-model.js';

const T0 = Date.parse('2026-11-26T14:00:00.000Z');
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();
const HOSTILE = '<img src=x onerror=alert(1)>';

function planned(name: string, over: Partial<PlannedStep> = {}): PlannedStep {
  return { name, kind: 'run', argv: ['/bin/true'], timeoutMs: 60_000, until: null, continueOnError: false, idempotent: false, ...over };
}

function step(name: string, state: StepRecord['state'], from: number | null, to: number | null, over: Partial<StepRecord> = {}): StepRecord {
  return {
    name, kind: 'run', phase: 'steps', state, argv: ['/bin/true'], host: null, exitCode: state === 'failed' ? 1 : 0, signal: null, timedOut: false, stoppedBy: null,
    stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, error: null, evidence: null, attempts: from === null ? 0 : 1,
    startedAt: from === null ? null : at(from), endedAt: to === null ? null : at(to), ...over,
  };
}

function verify(outcome: VerifyRecord['outcome'], from: number, to: number, marks: Array<[number, 'held' | 'not_held' | 'error']>): VerifyRecord {
  return {
    kind: 'promql', query: 'up == 1', everyMs: 1000, withinMs: 3000, stableForMs: 1000, checks: marks.length, errors: marks.filter((m) => m[1] === 'error').length,
    lastResult: null, error: null, outcome, startedAt: at(from), endedAt: at(to), holdingSince: null, recentChecks: marks.map(([s, result]) => ({ at: at(s), result })),
  };
}

function tier(name: string, state: TierRecord['state'], from: number | null, to: number | null, steps: StepRecord[], v: VerifyRecord | null): TierRecord {
  return { name, state, steps, verify: v, verified: v?.outcome === 'verified', startedAt: from === null ? null : at(from), endedAt: to === null ? null : at(to) };
}

const PLAN_TIERS: PlannedTier[] = [
  { name: 'instance', steps: [planned('drain'), planned('wait-ready', { until: { everyMs: 2000, withinMs: 60_000 } })], onFailure: [planned('undrain')], verify: { kind: 'promql', query: 'up == 1', everyMs: 1000, withinMs: 3000, stableForMs: 1000 } },
  { name: 'rollback', steps: [planned(HOSTILE)], onFailure: [], verify: { kind: 'promql', query: 'up == 1', everyMs: 1000, withinMs: 3000, stableForMs: 1000 }, approvalTimeoutMs: 600_000 },
];

function run(over: Partial<RunDetail> = {}): RunDetail {
  return {
    id: 'R1', state: 'succeeded', reason: 'verified', runbook: 'rb', runbookHash: 'h', faultClass: 'oom', target: 'node-a', pool: null, mode: 'enforce',
    alertname: 'A', fingerprint: 'f', startsAt: at(-10), createdAt: at(0), startedAt: at(0), endedAt: at(30),
    alert: { status: 'firing', labels: { alertname: 'A' }, annotations: {}, startsAt: at(-10), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'f' },
    params: {}, plan: { tiers: PLAN_TIERS, env: {}, cancelOnResolve: false }, approvedBy: 'bob', approvedAt: at(15), approvalDeadline: at(10 + 600), approvalTier: 1,
    tiers: [
      tier('instance', 'failed', 0, 9, [
        step('drain', 'succeeded', 0, 1),
        step('wait-ready', 'succeeded', 1, 4, { attempts: 3 }),
        step('undrain', 'succeeded', 8, 9, { phase: 'onFailure' }),
      ], verify('timed_out', 4, 8, [[4, 'not_held'], [5, 'error'], [6, 'not_held'], [7, 'not_held']])),
      tier('rollback', 'succeeded', 15, 30, [step(HOSTILE, 'succeeded', 15, 20, { stdout: '</script><script>window.__pwned=1</script>' })], verify('verified', 20, 30, [[21, 'held'], [22, 'held']])),
    ],
    deliveries: 1, notBefore: at(0), cancelRequested: null, annotations: null, silenceId: null, escalation: null, ...over,
  };
}

describe('timelineOf', () => {
  it('lays out both tiers, every step, the verifications and the approval wait in time order, each with its outcome', () => {
    const tl = timelineOf(run(), T0 + 60_000);
    expect(tl.rows.map((r) => [r.kind, r.name, r.state])).toEqual([
      ['tier', 'tier 1: instance', 'failed'],
      ['step', 'drain', 'succeeded'],
      ['step', 'wait-ready', 'succeeded'],
      ['verify', 'verify (promql)', 'timed_out'],
      ['step', 'undrain (onFailure)', 'succeeded'],
      ['approval', 'approval', 'approved'],
      ['tier', 'tier 2: rollback', 'succeeded'],
      ['step', HOSTILE, 'succeeded'],
      ['verify', 'verify (promql)', 'verified'],
    ]);
    const starts = tl.rows.map((r) => r.start ?? Infinity);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    expect(tl.rows.find((r) => r.name === 'wait-ready')?.note).toBe('run · 3 attempts · until: every 2s within 1m');
    expect(tl.rows.find((r) => r.kind === 'approval')).toMatchObject({ start: T0 + 10_000, end: T0 + 15_000, note: 'by bob' });
    expect(tl.rows.find((r) => r.state === 'timed_out')?.checks.map((c) => c.result)).toEqual(['not_held', 'error', 'not_held', 'not_held']);
    expect(tl.events.map((e) => e.kind)).toEqual(['alert', 'created', 'started', 'approved', 'ended']);
    expect([tl.from, tl.to, tl.alertEarlierMs]).toEqual([T0 - 10_000, T0 + 30_000, null]);
  });

  it('names an alert that started long before its run at the left edge instead of squeezing the run', () => {
    const tl = timelineOf(run({ alert: { ...run().alert, startsAt: at(-7200) } }), T0);
    expect(tl.from).toBeGreaterThan(T0 - 7200_000);
    expect(tl.alertEarlierMs).toBeGreaterThan(7_000_000);
  });

  it('shows steps an ended run never reached as not run, and an active run\'s as pending with its open bar up to now', () => {
    const failed = run({ state: 'failed', reason: 'steps_failed', approvedAt: null, approvedBy: null, approvalTier: null, approvalDeadline: null });
    const untouched = { ...failed, tiers: [failed.tiers[0] as TierRecord, tier('rollback', 'pending', null, null, [step(HOSTILE, 'pending', null, null)], null)] };
    const ended = timelineOf(untouched, T0);
    expect(ended.rows.slice(-4).map((r) => [r.kind, r.state, r.start])).toEqual([
      ['approval', 'not run', null],
      ['tier', 'not run', null],
      ['step', 'not run', null],
      ['verify', 'not run', null],
    ]);
    const running = { ...untouched, state: 'running' as const, reason: null, endedAt: null, tiers: [tier('instance', 'running', 0, null, [step('drain', 'running', 0, null), step('wait-ready', 'pending', null, null)], null), untouched.tiers[1] as TierRecord] };
    const live = timelineOf(running, T0 + 5000);
    expect(live.rows.find((r) => r.name === 'drain')).toMatchObject({ state: 'running', end: null });
    expect(live.rows.find((r) => r.name === 'wait-ready')?.state).toBe('pending');
    expect(live.to).toBe(T0 + 5000);
    expect(live.events.at(-1)?.kind).toBe('now');
  });

  it('shows a shadow run as its plan, every row "would …", never pending', () => {
    const shadow = run({ state: 'shadow', reason: 'shadow', startedAt: null, endedAt: at(0), approvedAt: null, approvedBy: null, approvalTier: null, approvalDeadline: null, tiers: [] });
    const tl = timelineOf(shadow, T0);
    expect(tl.shadow).toBe(true);
    expect(tl.rows.map((r) => [r.name, r.state])).toEqual([
      ['tier 1: instance', 'would run'],
      ['drain', 'would run'],
      ['wait-ready', 'would run'],
      ['verify (promql)', 'would verify'],
      ['undrain (onFailure)', 'if it fails'],
      ['approval', 'would wait'],
      ['tier 2: rollback', 'would run'],
      [HOSTILE, 'would run'],
      ['verify (promql)', 'would verify'],
    ]);
    expect(tl.rows.every((r) => r.start === null)).toBe(true);
    expect(runTimeline(shadow, T0).toString()).toContain('would run</strong>');
  });
});

describe('runTimeline', () => {
  it('draws a bar per row with its name and outcome as text, and the checks as marks', () => {
    const svg = runTimeline(run(), T0).toString();
    expect(svg.match(/<g class="tl-row"/g)).toHaveLength(9);
    expect(svg.match(/<rect class="tl-bar/g)).toHaveLength(9);
    expect(svg.match(/<circle class="tl-check c-/g)).toHaveLength(6);
    expect(svg).toContain('<text class="tl-state s-failed" x="210" y="43">failed</text>');
    expect(svg).toContain('data-kind="verify" data-name="verify (promql)" data-state="timed_out"');
    expect(svg).toContain('<title>check at 2026-11-26T14:00:05.000Z: error</title>');
    expect(svg).toContain('run ended: succeeded (verified)');
  });

  it('escapes hostile step names in text, attributes and titles', () => {
    const svg = runTimeline(run(), T0).toString();
    expect(svg).not.toContain('<img');
    expect(svg).toContain('data-name="&lt;img src=x onerror=alert(1)&gt;"');
    expect(svg).toContain('<title>&lt;img src=x onerror=alert(1)&gt; · succeeded');
  });
});
