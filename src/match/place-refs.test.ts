import { describe, expect, it } from '@jest/globals';
import { labelSet } from '../core/alert.js';
import { compileRunbook } from './load-runbook.js';
import { renderPlan } from './plan.js';
import { formatIssue } from './runbook-issue.js';

function text(promql: string): string {
  return `name: x
faultClass: down
match: [alertname = "X"]
params:
  host: { from: labels.instance, pattern: '[a-z0-9.:-]+' }
target: "{{ params.host }}"
safety: { precheck: { promql: '${promql}' } }
tiers:
  - name: t
    steps:
      - { name: s, promql: '${promql}' }
    verify: { promql: '${promql}' }
`;
}

const OUTSIDE = 'outside a double-quoted PromQL string';

describe('references in PromQL text', () => {
  it.each<[string, string, string]>([
    ['a label after "and"', 'up and {{ labels.raw }}', OUTSIDE],
    ['a label as a metric name', '{{ labels.raw }}{job="x"}', OUTSIDE],
    ['a param as a range', 'rate(x[{{ params.host }}])', OUTSIDE],
    ['the target as a number', 'up > {{ target }}', OUTSIDE],
    ['a label in a single-quoted string', "up{a=''{{ labels.raw }}''}", OUTSIDE],
    ['a label in a raw string', 'up{a=`{{ labels.raw }}`}', OUTSIDE],
    ['a label in a comment', 'up # {{ labels.raw }}', OUTSIDE],
    ['a label after a closed string', 'up{a="x"} == {{ labels.raw }}', OUTSIDE],
    ['a label after a backslash', 'up{a="\\{{ labels.raw }}"}', 'follows a backslash inside a PromQL string'],
  ])('refuses %s at load, at its line, in a precheck, a promql step and a verify query', (_what, promql, message) => {
    const r = compileRunbook('x.yaml', text(promql));
    expect(r.runbook).toBeUndefined();
    const got = r.errors.map(formatIssue);
    expect(got).toHaveLength(3);
    expect(got[0]).toMatch(new RegExp(`^x\\.yaml:7:31: .*${message}`));
    expect(got[1]).toMatch(new RegExp(`^x\\.yaml:11:28: .*${message}`));
    expect(got[2]).toMatch(new RegExp(`^x\\.yaml:12:23: .*${message}`));
  });

  it('keeps references inside double-quoted strings, escaped, everywhere PromQL is rendered', () => {
    const r = compileRunbook('x.yaml', text('up{instance="{{ labels.instance }}", t="{{ target }}", raw="{{ labels.raw }}"} and on() vector(1)'));
    if (!r.runbook) throw new Error(r.errors.map(formatIssue).join('\n'));
    const alert = { labels: labelSet([['alertname', 'X'], ['instance', 'h:1'], ['raw', '"} or vector(1) or up{x="']]), fingerprint: 'f' };
    const plan = renderPlan(r.runbook, { params: { host: 'h:1' }, target: 'h:1', pool: null, runId: 'R', runUrl: 'u', alert });
    if (!plan.ok) throw new Error(plan.message);
    const want = 'up{instance="h:1", t="h:1", raw="\\"} or vector(1) or up{x=\\""} and on() vector(1)';
    expect(plan.plan.precheck).toBe(want);
    expect(plan.plan.tiers[0]?.steps[0]?.promql).toBe(want);
    expect(plan.plan.tiers[0]?.verify).toMatchObject({ kind: 'promql', query: want });
  });

  it('reads a string with escaped quotes before the reference as still open', () => {
    const r = compileRunbook('x.yaml', text('up{a="say \\"hi\\" {{ labels.raw }}"}'));
    expect(r.errors).toEqual([]);
  });
});
