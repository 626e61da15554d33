/** `remediator explain` as users run it, from the built bin, on the Alertmanager 0.25 fixtures: it explains and runs nothing. */

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runCli, type CliResult } from '../support/cli.js';
import { REPO_ROOT } from '../support/service.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

const cli = (args: string[]): Promise<CliResult> => runCli(['explain', ...args]);

const FIRING = path.join(REPO_ROOT, 'test', 'fixtures', 'alertmanager', 'alertmanager-0.25-firing.json');
const RESOLVED = path.join(REPO_ROOT, 'test', 'fixtures', 'alertmanager', 'alertmanager-0.25-resolved.json');

/** A runbook each of whose steps would leave a file in the canary folder if anything ran it. */
function canaryRunbook(canaries: string): string {
  return `name: canary
faultClass: probe
description: leaves a canary file behind if anything runs it
match:
  - alertname = "ProbeFlagHigh"
params:
  host: { from: labels.instance, transform: host, pattern: '^[a-z0-9.-]+$' }
  job: { from: labels.job, pattern: '^[a-z]+$' }
target: "{{ params.host }}"
pool: "{{ params.job }}"
safety:
  cooldown: 2m
  silence: true
  precheck: { promql: 'probe_flag{instance="{{ labels.instance }}"} == 1' }
tiers:
  - name: first
    steps:
      - name: touch-canary
        run: [touch, "${canaries}/run-canary-{{ params.host }}"]
      - name: script-canary
        script: |
          touch "${canaries}/script-canary"
      - name: remote
        ssh: { user: ops, port: 2222 }
        run: [touch, "${canaries}/ssh-canary"]
      - name: poke
        http:
          method: POST
          url: "http://{{ params.host }}:9/canary?run={{ run.id }}"
          headers: { Authorization: { file: ${canaries}/token, prefix: "Bearer " } }
    verify: { promql: 'probe_flag{instance="{{ labels.instance }}"} == 0', every: 5s, within: 1m }
    onFailure:
      - name: undo
        run: [touch, "${canaries}/undo-canary"]
  - name: second
    approval: required
    approvalTimeout: 10m
    steps:
      - name: last-resort
        run: [touch, "${canaries}/second-canary"]
    verify: { alertResolved: true, within: 2m }
`;
}

const NEEDS_MODEL = `name: needs-model
faultClass: probe
description: needs a label the fixture does not carry
match:
  - alertname = "ProbeFlagHigh"
params:
  model: { from: labels.model_name, pattern: '^[a-z]+$' }
target: "{{ params.model }}"
tiers:
  - name: only
    steps:
      - name: echo
        run: [echo, "{{ params.model }}"]
`;

const SHADOW = `name: shadowed
faultClass: probe
description: shadow mode
match:
  - alertname = "ShadowMe"
params:
  host: { from: labels.instance, pattern: '^[a-z0-9.-]+$' }
target: "{{ params.host }}"
mode: shadow
tiers:
  - name: only
    steps:
      - name: pause
        wait: 5s
`;

const alert = (alertname: string, instance: string): Record<string, unknown> => ({
  status: 'firing',
  labels: { alertname, instance },
  annotations: {},
  startsAt: '2026-11-26T14:31:52.553Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: '',
  fingerprint: 'aaaabbbbccccdddd',
});

let dir: string;
let canaries: string;
let runbooks: string;

beforeAll(() => {
  dir = makeTempDir('explain');
  canaries = path.join(dir, 'canaries');
  runbooks = path.join(dir, 'runbooks');
  mkdirSync(canaries);
  mkdirSync(runbooks);
  writeFileSync(path.join(runbooks, 'a-canary.yaml'), canaryRunbook(canaries));
  writeFileSync(path.join(runbooks, 'b-needs-model.yaml'), NEEDS_MODEL);
  writeFileSync(path.join(runbooks, 'c-shadow.yaml'), SHADOW);
});

afterAll(() => {
  removeTempDir(dir);
});

function payloadFile(name: string, content: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('remediator explain on the firing fixture', () => {
  it('shows the match, the rendered params, target and argv, and the decision, and runs none of the steps', async () => {
    const res = await cli([FIRING, '--runbooks', runbooks]);
    expect(res.stderr).not.toMatch(/error/i);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('alert 1/1: ProbeFlagHigh (firing)');
    expect(res.stdout).toContain('fingerprint: 3585a2431cd692f1');
    expect(res.stdout).toContain('startsAt:    2026-11-26T14:31:52.553Z');
    expect(res.stdout).toContain('runbook canary (faultClass probe, mode enforce');
    expect(res.stdout).toContain('params: host="127.0.0.1", job="probe"');
    expect(res.stdout).toContain('target: 127.0.0.1');
    expect(res.stdout).toContain('pool:   probe');
    expect(res.stdout).toContain(`argv: ${JSON.stringify(['touch', `${canaries}/run-canary-127.0.0.1`])}`);
    expect(res.stdout).toContain(`| touch "${canaries}/script-canary"`);
    expect(res.stdout).toContain('"remote" (run) on ssh ops@127.0.0.1:2222');
    expect(res.stdout).toContain('POST http://127.0.0.1:9/canary?run=explain');
    expect(res.stdout).toContain(`Authorization: Bearer <contents of file ${canaries}/token`);
    expect(res.stdout).toContain('precheck probe_flag{instance="127.0.0.1:39100"} == 1');
    expect(res.stdout).toContain('cooldown 2m');
    expect(res.stdout).toContain('silence true');
    expect(res.stdout).toContain('verify: promql probe_flag{instance="127.0.0.1:39100"} == 0 (success = non-empty result); every 5s within 1m, stable for 10s');
    expect(res.stdout).toContain(`onFailure:\n          step 1 "undo" (run) on local; timeout 1m\n            argv: ${JSON.stringify(['touch', `${canaries}/undo-canary`])}`);
    expect(res.stdout).toContain('tier 2 "second"\n        approval: required (the run waits for POST /api/v1/runs/{id}/approve; timeout 10m)');
    expect(res.stdout).toContain("verify: alertResolved (the alert's ALERTS series seen firing, then gone)");
    expect(res.stdout).toMatch(/decision: run \(a run would be created/);
    expect(res.stdout).toContain('at receive: duplicate, paused, runbook_paused, fleet_breaker, already_running, attempts_exhausted, cooldown');
    expect(res.stdout).toContain('at claim:   target_busy, pool_busy, rate_limited, stale, not_firing_after_wait, precheck_failed');
    expect(readdirSync(canaries)).toEqual([]);
  });

  it('names the param that makes a matching runbook param_invalid', async () => {
    const res = await cli([FIRING, '--runbooks', runbooks]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('runbook needs-model');
    expect(res.stdout).toContain('param_invalid (param "model"): param "model": labels.model_name is missing or empty');
    expect(res.stdout).toMatch(/decision: skip param_invalid/);
  });

  it('prints the same explanation as one JSON document with --json', async () => {
    const res = await cli([FIRING, '--runbooks', runbooks, '--json']);
    expect(res.code).toBe(0);
    const doc = JSON.parse(res.stdout) as {
      executed: string;
      placeholders: { runId: string };
      alerts: Array<{ alertname: string; runbooks: Array<{ runbook: string; decision: string; reason: string | null; target: string | null; paramInvalid: { param: string } | null; tiers: Array<{ steps: Array<{ argv?: string[]; where: string }> }> | null }> }>;
    };
    expect(doc.executed).toBe('nothing');
    expect(doc.placeholders.runId).toBe('explain');
    const [canary, model] = doc.alerts[0]?.runbooks ?? [];
    expect(canary).toMatchObject({ runbook: 'canary', decision: 'run', reason: null, target: '127.0.0.1' });
    expect(canary?.tiers?.[0]?.steps[0]).toMatchObject({ argv: ['touch', `${canaries}/run-canary-127.0.0.1`], where: 'local' });
    expect(model).toMatchObject({ runbook: 'needs-model', decision: 'skip', reason: 'param_invalid', paramInvalid: { param: 'model' } });
    expect(readdirSync(canaries)).toEqual([]);
  });
});

describe('remediator explain decisions', () => {
  it('decides a resolved alert as resolved and shows no plan', async () => {
    const res = await cli([RESOLVED, '--runbooks', runbooks]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('alert 1/1: ProbeFlagHigh (resolved)');
    expect(res.stdout).toMatch(/decision: skip resolved \(resolved notifications never start runs/);
    expect(res.stdout).not.toContain('plan:');
  });

  it('accepts a bare array of alerts and decides no_match and shadow', async () => {
    const file = payloadFile('array.json', [alert('NothingMatchesMe', 'x'), alert('ShadowMe', 'web1')]);
    const res = await cli([file, '--runbooks', runbooks]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('alert 1/2: NothingMatchesMe (firing)\n  fingerprint: aaaabbbbccccdddd');
    expect(res.stdout).toContain('no runbook matches: decision skip no_match');
    expect(res.stdout).toMatch(/runbook shadowed \(faultClass probe, mode shadow[^\n]*\n[^]*decision: run shadow/);
    expect(res.stdout).toContain('step 1 "pause" (wait) on remediator (waits)');
  });
});

describe('remediator explain refusals', () => {
  it.each([
    ['text that is not JSON', '{"version": "4", ', /BAD_JSON.*not valid JSON/],
    ['a body of another version', { version: '3', status: 'firing', alerts: [] }, /UNSUPPORTED_VERSION.*version must be "4"/],
    ['an alert with an invalid label name', { version: '4', status: 'firing', alerts: [{ ...alert('A', 'x'), labels: { 'bad-name': 'x' } }] }, /alerts\[0\]\.labels has an invalid label name "bad-name"/],
    ['an alert without a fingerprint', { version: '4', status: 'firing', alerts: [{ ...alert('A', 'x'), fingerprint: undefined }] }, /alerts\[0\]\.fingerprint must be a string/],
  ])('exits 1 on %s, saying what is wrong', async (_what, content, message) => {
    const file = payloadFile('bad.json', content);
    const res = await cli([file, '--runbooks', runbooks]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(file);
    expect(res.stderr).toMatch(message);
    expect(res.stdout).toBe('');
  });

  it('exits 1 naming the file when the payload cannot be read', async () => {
    const res = await cli([path.join(dir, 'absent.json'), '--runbooks', runbooks]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/absent\.json: cannot explain this payload: ENOENT/);
  });

  it('exits 1 with file:line:col when a runbook fails to load', async () => {
    const broken = path.join(dir, 'broken-runbooks');
    mkdirSync(broken);
    writeFileSync(path.join(broken, 'bad.yaml'), NEEDS_MODEL.replace('description:', 'retries: 3\ndescription:'));
    const res = await cli([FIRING, '--runbooks', broken]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${path.join(broken, 'bad.yaml')}:3:1: unknown key "retries"`);
    expect(res.stdout).toBe('');
  });

  it.each([
    ['no payload file', []],
    ['an unknown option', [FIRING, '--dry-run']],
    ['two payload files', [FIRING, RESOLVED]],
    ['--runbooks without a folder', [FIRING, '--runbooks']],
  ])('exits 2 with the usage on %s', async (_what, args) => {
    const res = await cli(args);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('remediator explain PAYLOAD.json [--runbooks DIR] [--json]');
  });
});
