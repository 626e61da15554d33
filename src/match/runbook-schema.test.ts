import { describe, expect, it } from '@jest/globals';
import { compileRunbook } from './load-runbook.js';
import { findNotSupported, NOT_SUPPORTED_YET } from './not-supported.js';
import { runbookJsonSchema } from './runbook-schema.js';

const BASE = `name: x
faultClass: down
match: [alertname = "X"]
target: t
`;

describe('runbookJsonSchema', () => {
  it('describes the whole format, strict about unknown keys', () => {
    const schema = runbookJsonSchema() as { type: string; required: string[]; additionalProperties: boolean; properties: Record<string, unknown> };
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'faultClass', 'match', 'target', 'tiers']));
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['params', 'pool', 'cancelOnResolve', 'mode', 'safety', 'ssh', 'tiers']),
    );
    expect(JSON.stringify(schema)).toContain('"capture"');
    const text = JSON.stringify(schema);
    for (const word of ['"precheck"', '"fleetBreaker"', '"maxConcurrentPerPool"', '"waitFor"', '"expectStatus"', '"prefix"', '"PATCH"', '"alertResolved"', '"stableFor"', '"approvalTimeout"', '"silence"']) expect(text).toContain(word);
  });
});

describe('keys that are not supported yet', () => {
  it('refuses none in this release', () => {
    expect(NOT_SUPPORTED_YET).toEqual([]);
  });

  it('would refuse a listed key at the key, in steps and onFailure alike', () => {
    const doc = { tiers: [{ name: 'a', steps: [{ name: 's', x: 1 }], onFailure: [{ name: 'u', x: 2 }] }], safety: { y: true } };
    expect(findNotSupported(doc, ['step.x', 'safety.y'])).toEqual([
      { path: ['tiers', 0, 'steps', 0, 'x'], at: 'key', message: '"x" is not supported yet' },
      { path: ['tiers', 0, 'onFailure', 0, 'x'], at: 'key', message: '"x" is not supported yet' },
      { path: ['safety', 'y'], at: 'key', message: '"y" is not supported yet' },
    ]);
  });

  // Each row: a fragment using a key that issues 3 and 4 made runnable; it must load without errors.
  it.each<[string, string]>([
    ['pool', 'pool: "{{ target }}"\ntiers: [{ name: a, steps: [{ name: s, run: [echo, "{{ pool }}"] }] }]\n'],
    ['runbook ssh', 'ssh: { user: ops }\ntiers: [{ name: a, steps: [{ name: s, run: [echo] }] }]\n'],
    ['maxConcurrentPerPool', 'safety: { maxConcurrentPerPool: 2 }\ntiers: [{ name: a, steps: [{ name: s, run: [echo] }] }]\n'],
    ['fleetBreaker', 'safety: { fleetBreaker: { maxTargets: 5, per: 10m } }\ntiers: [{ name: a, steps: [{ name: s, run: [echo] }] }]\n'],
    ['waitFor', 'safety: { waitFor: 1m }\ntiers: [{ name: a, steps: [{ name: s, run: [echo] }] }]\n'],
    ['precheck', "safety: { precheck: { promql: 'up == 0' } }\ntiers: [{ name: a, steps: [{ name: s, run: [echo] }] }]\n"],
    ['tier ssh', 'tiers:\n  - name: a\n    ssh: {}\n    steps: [{ name: s, run: [echo] }]\n'],
    ['step ssh', 'tiers:\n  - name: a\n    steps:\n      - { name: s, run: [echo], ssh: {} }\n'],
    ['http', 'tiers:\n  - name: a\n    steps:\n      - { name: s, http: { method: GET, url: "http://x" } }\n'],
    ['promql', 'tiers:\n  - name: a\n    steps:\n      - { name: s, promql: up }\n'],
    ['capture', 'tiers:\n  - name: a\n    steps: [{ name: s, run: [echo] }]\n    onFailure:\n      - { name: c, capture: gpu }\n'],
    ['silence', 'safety: { silence: true }\ntiers: [{ name: a, steps: [{ name: s, run: [echo] }] }]\n'],
    ['verify', 'tiers:\n  - name: a\n    verify: { promql: up, within: 5m }\n    steps: [{ name: s, run: [echo] }]\n'],
    ['verify alertResolved', 'tiers:\n  - name: a\n    verify: { alertResolved: true }\n    steps: [{ name: s, run: [echo] }]\n'],
    ['approval', 'tiers:\n  - name: a\n    approval: required\n    steps: [{ name: s, run: [echo] }]\n'],
    ['approvalTimeout', 'tiers:\n  - name: a\n    approval: required\n    approvalTimeout: 5m\n    steps: [{ name: s, run: [echo] }]\n'],
  ])('accepts %s', (_key, fragment) => {
    const r = compileRunbook('x.yaml', BASE + fragment);
    expect(r.errors).toEqual([]);
    expect(r.runbook).toBeDefined();
  });
});

describe('step rules the schema checks', () => {
  it.each<[string, string]>([
    ['{ name: s, run: [echo], until: { every: 1m, within: 10s } }', '8:40: until.within must be at least until.every'],
    ['{ name: s, wait: 5s, timeout: 10s }', '8:9: a wait step takes neither timeout nor until'],
    ['{ name: s, run: [] }', '8:25: Too small'],
    ['{ name: s, run: [echo, 5] }', '8:32: expected string, got number 5'],
    ['{ name: "-s", run: [echo] }', '8:17: names are 1-64'],
  ])('refuses %s', (step, want) => {
    const r = compileRunbook('x.yaml', `${BASE}tiers:\n  - name: a\n    steps:\n      - ${step}\n`);
    expect(r.runbook).toBeUndefined();
    const got = r.errors.map((e) => `${e.line}:${e.col}: ${e.message}`);
    expect(got.filter((g) => g.startsWith(want))).toHaveLength(1);
  });
});
