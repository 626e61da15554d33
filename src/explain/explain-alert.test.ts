import { describe, expect, it } from '@jest/globals';
import { labelSet, type Alert } from '../core/alert.js';
import type { PlannedStep, Runbook } from '../core/runbook.js';
import { createCatalog } from '../match/catalog.js';
import { compileRunbook } from '../match/load-runbook.js';
import { explainAlert } from './explain-alert.js';
import { parseExplainArgs } from './explain-command.js';
import { stepWhere } from './explain-plan.js';

function runbook(text: string): Runbook {
  const r = compileRunbook('rb.yaml', text);
  if (!r.runbook) throw new Error(JSON.stringify(r.errors));
  return r.runbook;
}

const RUNBOOK = runbook(`name: rb
faultClass: test
description: d
match:
  - alertname = "A"
params:
  host: { from: labels.instance, transform: host, pattern: '^[a-z0-9.-]+$' }
  note: { from: annotations.note, pattern: '^[a-z]+$', optional: true }
  zone: { from: labels.zone, pattern: '^[a-z]*$', optional: true }
target: "{{ params.host }}"
tiers:
  - name: t
    steps:
      - name: say
        run: [echo, "{{ params.note }}"]
`);

const ZONED = runbook(`name: zoned
faultClass: test
description: d
match:
  - alertname = "Z"
params:
  host: { from: labels.instance, pattern: '^[a-z0-9.-]+$' }
  zone: { from: labels.zone, pattern: '^[a-z]*$', optional: true }
target: "{{ params.host }}"
pool: "{{ params.zone }}"
tiers:
  - name: t
    steps:
      - name: wait
        wait: 1s
`);

function alert(labels: Record<string, string>, annotations: Record<string, string> = {}): Alert {
  return {
    status: 'firing',
    labels: labelSet(Object.entries(labels)),
    annotations: labelSet(Object.entries(annotations)),
    startsAt: '2026-01-01T00:00:00Z',
    endsAt: '',
    generatorURL: '',
    fingerprint: 'abcdef0123456789',
  };
}

describe('explainAlert', () => {
  const catalog = createCatalog([RUNBOOK, ZONED]);

  it.each([
    ['every param renders', alert({ alertname: 'A', instance: 'web1:9100' }, { note: 'hi' }), 'run', null, null],
    ['an absent optional param is used in a step', alert({ alertname: 'A', instance: 'web1:9100' }), 'skip', 'param_invalid', 'note'],
    ['the host label is refused by its pattern', alert({ alertname: 'A', instance: 'WEB1' }, { note: 'hi' }), 'skip', 'param_invalid', 'host'],
    ['the pool has no value', alert({ alertname: 'Z', instance: 'web1' }), 'skip', 'param_invalid', 'zone'],
  ])('decides %s', (_what, a, decision, reason, param) => {
    const [pair] = explainAlert(catalog, a).runbooks;
    expect(pair?.decision).toBe(decision);
    expect(pair?.reason).toBe(reason);
    expect(pair?.paramInvalid?.param ?? null).toBe(param);
  });

  it('renders the step with the placeholders for run.id and run.url in the environment', () => {
    const [pair] = explainAlert(catalog, alert({ alertname: 'A', instance: 'web1:9100' }, { note: 'hi' })).runbooks;
    expect(pair?.tiers?.[0]?.steps[0]?.argv).toEqual(['echo', 'hi']);
    expect(pair?.env).toMatchObject({ PARAM_HOST: 'web1', PARAM_NOTE: 'hi', RUN_ID: 'explain', RUN_URL: '<publicURL unknown>/runs/explain' });
  });

  it('decides an alert that matches no runbook as no_match', () => {
    const e = explainAlert(catalog, alert({ alertname: 'Other' }));
    expect(e.decision).toEqual({ decision: 'skip', reason: 'no_match' });
    expect(e.runbooks).toEqual([]);
  });
});

describe('stepWhere', () => {
  const base = { name: 's', timeoutMs: 1000, until: null, continueOnError: false, idempotent: false };
  it.each<[PlannedStep, string]>([
    [{ ...base, kind: 'run', argv: ['true'], ssh: null }, 'local'],
    [{ ...base, kind: 'script', script: 'true', ssh: { host: 'web1', user: 'ops', port: 2222 } }, 'ssh ops@web1:2222'],
    [{ ...base, kind: 'capture', capture: 'gpu', ssh: { host: '::1' } }, 'ssh <ssh.user of the config, else the service user>@[::1]:<ssh.port of the config, else 22>'],
    [{ ...base, kind: 'wait', waitMs: 5 }, 'remediator (waits)'],
  ])('says where a step runs (%#)', (step, where) => {
    expect(stepWhere(step)).toBe(where);
  });
});

describe('parseExplainArgs', () => {
  it.each<[string[], unknown]>([
    [['p.json'], { payload: 'p.json', runbooks: './runbooks', json: false }],
    [['--json', 'p.json', '--runbooks', 'rb'], { payload: 'p.json', runbooks: 'rb', json: true }],
    [['p.json', '--runbooks=rb'], { payload: 'p.json', runbooks: 'rb', json: false }],
    [['-'], { payload: '-', runbooks: './runbooks', json: false }],
    [[], 'the payload file is missing'],
    [['p.json', '--runbooks='], '--runbooks needs a folder'],
    [['p.json', '-x'], 'unknown option "-x"'],
  ])('reads %j', (args, expected) => {
    expect(parseExplainArgs(args)).toEqual(expected);
  });
});
