import { describe, expect, it } from '@jest/globals';
import { labelSet } from '../core/alert.js';
import type { Runbook } from '../core/runbook.js';
import { compileRunbook } from './load-runbook.js';
import { renderPlan, renderPool, renderTarget } from './plan.js';

const TEXT = `
name: plan-test
faultClass: down
match: [alertname = "X"]
params:
  host: { from: labels.instance, transform: host, pattern: '[a-z0-9.-]+' }
  model: { from: labels.model_name, pattern: '[A-Za-z0-9 ;$()._-]+' }
  extra: { from: labels.extra, pattern: '.+', optional: true }
target: "{{ params.host }}"
tiers:
  - name: one
    steps:
      - name: restart
        run: [systemctl, restart, "vllm@{{ params.model }}", "{{ target }}", "{{ run.id }}", "{{ run.url }}"]
      - name: script
        script: echo "{{ params.model }}"
      - name: pause
        wait: 5s
    onFailure:
      - name: undo
        run: [echo, undo]
  - name: two
    steps:
      - name: uses-extra
        run: [echo, "--extra={{ params.extra }}"]
`;

function runbook(): Runbook {
  const r = compileRunbook('plan.yaml', TEXT);
  if (!r.runbook) throw new Error(JSON.stringify(r.errors));
  return r.runbook;
}

const alert = { labels: labelSet([['alertname', 'X']]), fingerprint: '0123456789abcdef' };
const input = { target: 'node-1', pool: null, runId: '01RUN', runUrl: 'http://r/runs/01RUN', alert };

describe('renderTarget and renderPool', () => {
  it('renders the target from params', () => {
    expect(renderTarget(runbook(), { host: 'node-1', model: 'm' })).toEqual({ ok: true, value: 'node-1' });
  });

  it('fails when the target needs a param that is absent', () => {
    const r = renderTarget(runbook(), { model: 'm' });
    expect(r.ok).toBe(false);
  });

  it('gives null for a runbook with no pool', () => {
    expect(renderPool(runbook(), { host: 'node-1' }, 'node-1')).toEqual({ ok: true, value: null });
  });
});

describe('renderPlan', () => {
  it('keeps each templated argument exactly one argv element, hostile characters and all', () => {
    const params = { host: 'node-1', model: 'a b; $(reboot)', extra: 'x' };
    const r = renderPlan(runbook(), { ...input, params });
    if (!r.ok) throw new Error(r.message);
    expect(r.plan.tiers[0]?.steps[0]?.argv).toEqual(['systemctl', 'restart', 'vllm@a b; $(reboot)', 'node-1', '01RUN', 'http://r/runs/01RUN']);
    expect(r.plan.tiers[0]?.steps[1]?.script).toBe('echo "{{ params.model }}"');
    expect(r.plan.tiers[0]?.steps[2]).toMatchObject({ kind: 'wait', waitMs: 5000, timeoutMs: 5000 });
    expect(r.plan.tiers[0]?.onFailure[0]?.argv).toEqual(['echo', 'undo']);
    expect(r.plan.tiers[1]?.steps[0]?.argv).toEqual(['echo', '--extra=x']);
  });

  it('gives steps the params as PARAM_<NAME> and the alert and run as ALERT_* and RUN_*', () => {
    const r = renderPlan(runbook(), { ...input, params: { host: 'node-1', model: 'm', extra: 'e' } });
    if (!r.ok) throw new Error(r.message);
    expect({ ...r.plan.env }).toEqual({
      PARAM_HOST: 'node-1',
      PARAM_MODEL: 'm',
      PARAM_EXTRA: 'e',
      ALERT_NAME: 'X',
      ALERT_FINGERPRINT: '0123456789abcdef',
      RUN_ID: '01RUN',
      RUN_URL: 'http://r/runs/01RUN',
    });
    expect(r.plan.cancelOnResolve).toBe(false);
  });

  it('fails instead of rendering an absent param as ""', () => {
    const r = renderPlan(runbook(), { ...input, params: { host: 'node-1', model: 'm' } });
    expect(r).toEqual({ ok: false, message: 'step "uses-extra" argument 1: "{{ params.extra }}" has no value' });
    const withStep = renderPlan(runbook(), { ...input, params: { host: 'node-1' } });
    expect(withStep).toEqual({ ok: false, message: 'step "restart" argument 2: "{{ params.model }}" has no value' });
  });

  it('produces a plan that survives a JSON round trip', () => {
    const r = renderPlan(runbook(), { ...input, params: { host: 'node-1', model: 'm', extra: 'e' } });
    if (!r.ok) throw new Error(r.message);
    expect(JSON.parse(JSON.stringify(r.plan))).toEqual(JSON.parse(JSON.stringify({ ...r.plan, env: { ...r.plan.env } })));
  });
});

const VERIFYING = `
name: verify-plan
faultClass: down
match: [alertname = "X"]
params:
  host: { from: labels.instance, transform: host, pattern: '[a-z0-9.-]+' }
  extra: { from: labels.extra, pattern: '.+', optional: true }
target: "{{ params.host }}"
pool: "pool-{{ params.host }}"
tiers:
  - name: one
    steps: [{ name: s, run: [echo] }]
    verify: { promql: 'up{instance="{{ labels.instance }}", host="{{ target }}", pool="{{ pool }}"} == 1', every: 5s }
  - name: two
    approval: required
    approvalTimeout: 10m
    steps: [{ name: s, run: [echo] }]
    verify: { alertResolved: true, within: 2m, stableFor: 1m }
  - name: three
    steps: [{ name: s, run: [echo] }]
  - name: four
    steps: [{ name: s, run: [echo] }]
    verify: { promql: 'up{extra="{{ params.extra }}"}' }
`;

describe('renderPlan with verify and approval', () => {
  const rb = (): Runbook => {
    const r = compileRunbook('verify.yaml', VERIFYING);
    if (!r.runbook) throw new Error(JSON.stringify(r.errors));
    return r.runbook;
  };
  const hostile = labelSet([['alertname', 'X'], ['instance', 'we"ird\\host\n:1']]);

  it('renders the verify query with labels escaped as PromQL strings, and carries the timings and approval', () => {
    const r = renderPlan(rb(), { ...input, pool: 'pool-node-1', alert: { ...alert, labels: hostile }, params: { host: 'node-1', extra: 'e' } });
    if (!r.ok) throw new Error(r.message);
    expect(r.plan.tiers.map((t) => [t.verify, t.approvalTimeoutMs])).toEqual([
      [{ kind: 'promql', query: 'up{instance="we\\"ird\\\\host\\n:1", host="node-1", pool="pool-node-1"} == 1', everyMs: 5000, withinMs: 300_000, stableForMs: 10_000 }, null],
      [{ kind: 'alertResolved', everyMs: 15_000, withinMs: 120_000, stableForMs: 60_000 }, 600_000],
      [null, null],
      [{ kind: 'promql', query: 'up{extra="e"}', everyMs: 15_000, withinMs: 300_000, stableForMs: 30_000 }, null],
    ]);
  });

  it('fails the plan when the verify query needs a param that is absent', () => {
    const r = renderPlan(rb(), { ...input, pool: 'pool-node-1', params: { host: 'node-1' } });
    expect(r).toEqual({ ok: false, message: 'tier "four" verify: "{{ params.extra }}" has no value' });
  });
});
