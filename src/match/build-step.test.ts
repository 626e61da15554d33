import { describe, expect, it } from '@jest/globals';
import type { Runbook, StepDef } from '../core/runbook.js';
import { loadRunbookFile, compileRunbook } from './load-runbook.js';
import { formatIssue } from './runbook-issue.js';

function compile(text: string): Runbook {
  const r = compileRunbook('x.yaml', text);
  if (!r.runbook) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.runbook;
}

function sshOf(step: StepDef | undefined): unknown {
  const ssh = step?.ssh;
  if (!ssh) return ssh;
  return { ...ssh, host: ssh.host === null ? null : ssh.host.source };
}

const HEAD = `name: x
faultClass: down
match: [alertname = "X"]
params:
  host: { from: labels.instance, pattern: '[a-z0-9.-]+' }
target: "{{ params.host }}"
`;

describe('ssh settings merge runbook -> tier -> step', () => {
  // Each row: the runbook's, the tier's and the step's ssh (YAML or "" for none) and the merged result.
  it.each<[string, string, string, string, unknown]>([
    ['nowhere', '', '', '', null],
    ['on the step only', '', '', '{}', { host: null }],
    ['on the runbook only', '{ user: ops, port: 2222 }', '', '', { host: null, user: 'ops', port: 2222 }],
    ['tier port over runbook port', '{ user: ops, port: 2222 }', '{ port: 22 }', '', { host: null, user: 'ops', port: 22 }],
    ['step user over tier and runbook', '{ user: ops }', '{ user: deploy, port: 22 }', '{ user: root }', { host: null, user: 'root', port: 22 }],
    ['step host over tier host', '', '{ host: "{{ target }}.mgmt" }', '{ host: "{{ params.host }}.oob" }', { host: '{{ params.host }}.oob' }],
    ['tier host kept when the step sets only a port', '', '{ host: "{{ target }}.mgmt" }', '{ port: 2200 }', { host: '{{ target }}.mgmt', port: 2200 }],
  ])('%s', (_what, runbookSsh, tierSsh, stepSsh, want) => {
    const text = `${HEAD}${runbookSsh ? `ssh: ${runbookSsh}\n` : ''}tiers:
  - name: t
${tierSsh ? `    ssh: ${tierSsh}\n` : ''}    steps:
      - name: s
        run: [echo]
${stepSsh ? `        ssh: ${stepSsh}\n` : ''}`;
    expect(sshOf(compile(text).tiers[0]?.steps[0])).toEqual(want);
  });

  it('does not give inherited ssh to http, promql and wait steps', () => {
    const rb = compile(`${HEAD}ssh: { user: ops }
tiers:
  - name: t
    ssh: {}
    steps:
      - { name: h, http: { url: "http://x/" } }
      - { name: p, promql: up }
      - { name: w, wait: 1s }
      - { name: c, capture: gpu }
      - { name: s, script: "true" }
`);
    expect(rb.tiers[0]?.steps.map((s) => [s.kind, 'ssh' in s ? sshOf(s) : 'none'])).toEqual([
      ['http', 'none'],
      ['promql', 'none'],
      ['wait', 'none'],
      ['capture', { host: null, user: 'ops' }],
      ['script', { host: null, user: 'ops' }],
    ]);
  });
});

describe('the fleet fixture', () => {
  async function fleet(): Promise<Runbook> {
    const r = await loadRunbookFile('test/fixtures/runbooks/good/fleet.yaml');
    if (!r.runbook) throw new Error(r.errors.map(formatIssue).join('\n'));
    return r.runbook;
  }

  it('compiles the blast-radius limits and the precheck', async () => {
    const rb = await fleet();
    expect(rb.pool?.source).toBe('{{ params.model }}');
    expect({ ...rb.safety, precheck: rb.safety.precheck?.source }).toEqual({
      cooldownMs: 300_000,
      maxAttempts: { count: 3, perMs: 3_600_000 },
      maxPendingAgeMs: 900_000,
      maxConcurrentPerPool: 2,
      fleetBreaker: { maxTargets: 3, perMs: 900_000 },
      waitForMs: 120_000,
      precheck: 'up{instance="{{ labels.instance }}", model="{{ params.model }}"} == 0',
      silence: false,
    });
  });

  it('compiles each step kind with its merged ssh', async () => {
    const [instance, service] = (await fleet()).tiers;
    const steps = instance?.steps ?? [];
    expect(steps.map((s) => [s.name, s.kind])).toEqual([
      ['evidence', 'capture'],
      ['drain', 'http'],
      ['restart', 'run'],
      ['health', 'http'],
      ['serving', 'promql'],
      ['settle', 'wait'],
      ['remote-script', 'script'],
    ]);
    expect(steps[0]).toMatchObject({ capture: 'gpu', continueOnError: true });
    expect(sshOf(steps[0])).toEqual({ host: null, user: 'ops', port: 22 });
    expect(sshOf(steps[2])).toEqual({ host: '{{ params.host }}.mgmt', user: 'root', port: 22 });
    expect(sshOf(steps[6])).toEqual({ host: null, user: 'ops', port: 22 });
    expect(sshOf(service?.steps[0])).toEqual({ host: null, user: 'ops', port: 2222 });
    expect(instance?.onFailure[0]?.http?.method).toBe('POST');
  });

  it('keeps an http request as templates, file headers as paths, and defaults method and expectStatus', async () => {
    const steps = (await fleet()).tiers[0]?.steps ?? [];
    const drain = steps[1]?.http;
    expect(drain?.method).toBe('POST');
    expect(drain?.url.source).toBe('http://{{ params.host }}:8000/admin/drain?run={{ run.id }}');
    expect(drain?.headers.Authorization).toEqual({ file: '/etc/remediator/admin.token', prefix: 'Bearer ' });
    expect(drain?.headers['X-Api-Key']).toEqual({ file: '/etc/remediator/api.key' });
    expect(drain?.expectStatus).toEqual([200, 204]);
    expect(steps[3]?.http).toMatchObject({ method: 'GET', headers: {}, body: null, expectStatus: null });
    expect(steps[3]?.until).toEqual({ everyMs: 10_000, withinMs: 600_000 });
  });
});
