import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { labelSet } from '../core/alert.js';
import type { Runbook } from '../core/runbook.js';
import { compileRunbook } from './load-runbook.js';
import { renderPlan, type PlanInput } from './plan.js';
import { formatIssue } from './runbook-issue.js';

function compile(text: string): Runbook {
  const r = compileRunbook('x.yaml', text);
  if (!r.runbook) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.runbook;
}

const FLEET = compile(readFileSync('test/fixtures/runbooks/good/fleet.yaml', 'utf8'));

function input(instance: string, params: Record<string, string> = { host: 'node-1', model: 'llama' }): PlanInput {
  const alert = { labels: labelSet([['alertname', 'LLMServerDown'], ['instance', instance]]), fingerprint: 'f00d' };
  return { params, target: 'node-1', pool: 'llama', runId: '01RUN', runUrl: 'http://r/runs/01RUN', alert };
}

const common = { until: null, continueOnError: false, idempotent: false, timeoutMs: 60_000 };

describe('renderPlan with every step kind', () => {
  it('renders ssh hosts, http requests, PromQL and captures into the plan', () => {
    const r = renderPlan(FLEET, input('node-1:8000'));
    if (!r.ok) throw new Error(r.message);
    expect(r.plan.precheck).toBe('up{instance="node-1:8000", model="llama"} == 0');
    const [instance, service] = r.plan.tiers;
    expect(instance?.steps).toEqual([
      { ...common, name: 'evidence', kind: 'capture', capture: 'gpu', continueOnError: true, ssh: { host: 'node-1', port: 22, user: 'ops' } },
      {
        ...common,
        name: 'drain',
        kind: 'http',
        http: {
          method: 'POST',
          url: 'http://node-1:8000/admin/drain?run=01RUN',
          headers: {
            Authorization: { file: '/etc/remediator/admin.token', prefix: 'Bearer ' },
            'X-Api-Key': { file: '/etc/remediator/api.key' },
            'X-Pool': 'llama',
            'Content-Type': 'application/json',
          },
          body: '{"model": "llama", "target": "node-1"}',
          expectStatus: [200, 204],
        },
      },
      {
        ...common,
        name: 'restart',
        kind: 'run',
        timeoutMs: 300_000,
        argv: ['sudo', '-n', 'systemctl', 'restart', 'vllm@llama'],
        ssh: { host: 'node-1.mgmt', port: 22, user: 'root' },
      },
      {
        ...common,
        name: 'health',
        kind: 'http',
        until: { everyMs: 10_000, withinMs: 600_000 },
        http: { method: 'GET', url: 'https://node-1:8000/health', headers: {}, body: null, expectStatus: null },
      },
      { ...common, name: 'serving', kind: 'promql', promql: 'vllm:num_requests_running{instance="node-1:8000", pool="llama"} >= 0' },
      { ...common, name: 'settle', kind: 'wait', waitMs: 30_000, timeoutMs: 30_000 },
      { ...common, name: 'remote-script', kind: 'script', script: 'echo "$PARAM_MODEL"', ssh: { host: 'node-1', port: 22, user: 'ops' } },
    ]);
    expect(instance?.onFailure[0]?.http?.url).toBe('http://node-1:8000/admin/undrain');
    expect(service?.steps[0]).toMatchObject({ argv: ['sudo', '-n', 'systemctl', 'restart', 'vllm@*'], ssh: { host: 'node-1', port: 2222, user: 'ops' } });
  });

  it('gives local run, script and capture steps ssh: null and a runbook without precheck precheck: null', () => {
    const rb = compile(`name: x
faultClass: down
match: [alertname = "X"]
target: t
tiers:
  - name: t
    steps:
      - { name: r, run: [echo, "{{ target }}"] }
      - { name: s, script: "true" }
      - { name: c, capture: gpu }
`);
    const r = renderPlan(rb, { ...input('i'), params: {}, target: 't', pool: null });
    if (!r.ok) throw new Error(r.message);
    expect(r.plan.tiers[0]?.steps.map((s) => s.ssh)).toEqual([null, null, null]);
    expect(r.plan.precheck).toBeNull();
  });

  it('survives a JSON round trip and stores no header file content', () => {
    const r = renderPlan(FLEET, input('node-1:8000'));
    if (!r.ok) throw new Error(r.message);
    const json = JSON.stringify(r.plan);
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify({ ...r.plan, env: { ...r.plan.env } })));
    expect(json).not.toContain('Bearer ey');
  });
});

describe('label values in PromQL', () => {
  // Label values are not params: nothing checked them, so escaping is all that keeps them one string.
  it.each([
    ['a"b'],
    ['a\\b'],
    ['a\nb'],
    ['"} or vector(1) #'],
    ['\\"} or on() vector(1) or up{x="'],
    ['x\r\ty\u0000z\u007f'],
    ['line\u2028sep ✓ 😀'],
    ['trailing backslash \\'],
  ])('keeps %j one PromQL string in the precheck and a promql step', (hostile) => {
    const r = renderPlan(FLEET, input(hostile));
    if (!r.ok) throw new Error(r.message);
    const m = /^up\{instance="((?:[^"\\\n\r]|\\.)*)", model="llama"\} == 0$/.exec(r.plan.precheck ?? '');
    expect(m).not.toBeNull();
    // PromQL strings read Go escapes; for these (\" \\ \n \r \t \uXXXX) JSON reads them the same way.
    expect(JSON.parse(`"${m?.[1] ?? ''}"`)).toBe(hostile);
    const promql = r.plan.tiers[0]?.steps[4]?.promql ?? '';
    expect(promql).toBe(`vllm:num_requests_running{instance="${m?.[1] ?? ''}", pool="llama"} >= 0`);
  });
});

describe('values refused when the plan renders', () => {
  const HEAD = `name: x
faultClass: down
match: [alertname = "X"]
params:
  v: { from: labels.v, pattern: '(?:.|\\n)*', allowLeadingDash: true }
target: t
tiers:
  - name: t
    steps:
`;
  it.each<[string, string, string, string]>([
    ['a url host with a space', '{ name: s, http: { url: "http://{{ params.v }}/" } }', 'a b', '"a b" is not a host name'],
    ['a url host carrying credentials', '{ name: s, http: { url: "http://{{ params.v }}/" } }', 'u:p@x', 'is not a host name'],
    ['a url host with a path', '{ name: s, http: { url: "http://{{ params.v }}:8000/health" } }', 'evil.example/x?', 'is not a host name'],
    ['a url host with a port', '{ name: s, http: { url: "http://{{ params.v }}/health" } }', 'x:22', 'is not a host name'],
    ['a url carrying credentials', '{ name: s, http: { url: "http://u:p@{{ params.v }}/" } }', 'x', 'carries credentials'],
    ['a url path climbing with ..', '{ name: s, http: { url: "http://x/api/{{ params.v }}/drain" } }', '..', 'has a "." or ".." path segment'],
    ['a url path climbing with .', '{ name: s, http: { url: "http://x/api/{{ params.v }}./drain" } }', '.', 'has a "." or ".." path segment'],
    ['a header with a line break', '{ name: s, http: { url: "http://x/", headers: { X-A: "{{ params.v }}" } } }', 'a\r\nX-B: c', 'step "s" header "X-A" renders with a line break'],
    ['an ssh host starting with "-"', '{ name: s, run: [echo], ssh: { host: "{{ params.v }}" } }', '-oProxyCommand=x', 'ssh host "-oProxyCommand=x" is not a host name'],
    ['an ssh host with a user in it', '{ name: s, script: "true", ssh: { host: "{{ params.v }}" } }', 'root@x', 'is not a host name'],
    ['a default ssh host (the target) with a space', '{ name: s, capture: gpu, ssh: {} }', '', 'ssh host "t x" is not a host name'],
  ])('refuses %s', (_what, step, value, message) => {
    const rb = compile(`${HEAD}      - ${step}\n`);
    const r = renderPlan(rb, { ...input('i', { v: value }), target: 't x' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(message);
  });

  it.each<[string, string]>([
    ['{{ params.v }}/x', '"{{ params.v }}" is in its scheme'],
    ['h{{ params.v }}', '"{{ params.v }}" is in its scheme'],
  ])('refuses at load a url whose scheme is templated: %s', (url, message) => {
    const r = compileRunbook('x.yaml', `${HEAD}      - { name: s, http: { url: "${url}" } }\n`);
    expect(r.errors.map(formatIssue)).toEqual([`x.yaml:10:33: url must start with a literal http:// or https:// (${message})`]);
  });

  it.each<[string, string, string]>([
    ['http://x/a/{{ params.v }}', 'a\tb/../c', 'http://x/a/a%09b%2F..%2Fc'],
    ['http://x/q?name={{ params.v }}&fixed=1', 'v&admin=true#f', 'http://x/q?name=v%26admin%3Dtrue%23f&fixed=1'],
    ['http://x/#{{ params.v }}', 'a b', 'http://x/#a%20b'],
    ['http://[{{ params.v }}]:8000/', '2001:db8::1', 'http://[2001:db8::1]:8000/'],
    ['http://{{ params.v }}:8000/x', 'node-1.example', 'http://node-1.example:8000/x'],
  ])('percent-encodes values in a url path, query and fragment, and checks hosts: %s', (url, value, rendered) => {
    const rb = compile(`${HEAD}      - { name: s, http: { url: "${url}" } }\n`);
    const r = renderPlan(rb, { ...input('i', { v: value }), target: 't' });
    if (!r.ok) throw new Error(r.message);
    expect(r.plan.tiers[0]?.steps[0]?.http?.url).toBe(rendered);
  });

  it('fails the plan when the precheck names an absent optional param', () => {
    const rb = compile(`name: x
faultClass: down
match: [alertname = "X"]
params:
  v: { from: labels.v, pattern: '.+', optional: true }
target: t
safety: { precheck: { promql: 'up{v="{{ params.v }}"}' } }
tiers: [{ name: t, steps: [{ name: s, run: [echo] }] }]
`);
    expect(renderPlan(rb, { ...input('i', {}), target: 't' })).toEqual({ ok: false, message: 'precheck: "{{ params.v }}" has no value' });
  });
});
