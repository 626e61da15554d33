import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { compileRunbook, loadRunbookFile, MAX_RUNBOOK_BYTES } from './load-runbook.js';
import { formatIssue } from './runbook-issue.js';

const FIXTURES = 'test/fixtures/runbooks';

function fixture(kind: 'good' | 'bad', name: string): string {
  return path.join(FIXTURES, kind, name);
}

// Each row: a bad fixture and every error it must produce, as `line:col: part of the message`.
const BAD: Array<[string, string[]]> = [
    ['unknown-key.yaml', ['11:9: unknown key "retries"']],
    ['matcher-regex.yaml', ['5:5: invalid regex "crit(ical"']],
    ['pattern-regex.yaml', ['8:14: invalid regex "[a-z"']],
    ['undeclared-param.yaml', ['12:21: names undeclared param "hots" (declared: host)']],
    ['verify-schema.yaml', [
      '9:13: verify needs exactly one of promql and alertResolved',
      '12:13: verify needs exactly one of promql and alertResolved',
      '15:30: alertResolved can only be true (for no verification, leave verify out)',
      '18:59: verify.stableFor (1m) must be shorter than within (1m)',
      '21:35: verify.stableFor (30s, the default 2 × every) must be shorter than within (30s)',
      '24:46: verify.within must be at least verify.every',
      '27:39: unknown key "stabelFor"',
    ]],
    ['verify-template.yaml', [
      '11:23: "{{ run.id }}" is not allowed in PromQL text',
      '15:15: "{{ params.hots }}" names undeclared param "hots" (declared: host)',
      '18:23: "{{ pool }}" is used but this runbook has no pool',
      '20:5: approvalTimeout needs approval: required on the same tier',
    ]],
    ['approval-schema.yaml', [
      '7:12: expected boolean, got string "yes"',
      '10:15: approval must be "required" (leave it out for none)',
      '14:22: must be longer than 0s',
    ]],
    ['argv0-templated.yaml', ['12:15: the program (run[0]) is never templated']],
    ['unclosed-template.yaml', ['10:21: unclosed "{{"']],
    ['unknown-ref.yaml', ['10:21: "{{ labels.instance }}" is not allowed in a run argument', '10:46: unknown reference "{{ alert.name }}"']],
    ['target-ref.yaml', ['5:9: "{{ run.id }}" is not allowed in target']],
    ['matcher-syntax.yaml', ['5:5: bad matcher "severity == \\"critical\\""', '6:5: "9lives" is not a label name']],
    ['duplicate-key.yaml', ['6:1: YAML: duplicate key']],
    ['yaml-syntax.yaml', ['4:1: YAML: ']],
    ['missing-key.yaml', ['1:1: missing required key "target"']],
    ['bad-duration.yaml', ['7:13: not a duration', '13:18: must be longer than 0s']],
    ['step-kinds.yaml', ['9:9: a step needs exactly one of run, script, http, promql, wait, capture (found run and script)', '12:9: (found none)']],
    ['names.yaml', ['1:7: name must be kebab-case', '6:3: param names match', '7:17: from must be labels.NAME or annotations.NAME']],
    ['ssh-placement.yaml', [
      '11:57: ssh applies to run, script and capture steps; an http step runs in remediator itself',
      '12:36: ssh applies to run, script and capture steps; a promql step',
      '13:34: ssh applies to run, script and capture steps; a wait step',
    ]],
    ['ssh-schema.yaml', ['8:18: Too small', '10:46: ssh.user is 1-32 of', '11:41: unknown key "hots"', '12:29: capture must be gpu']],
    ['ssh-host.yaml', [
      '8:14: "{{ labels.instance }}" is not allowed in an ssh host',
      '11:18: "{{ pool }}" is used but this runbook has no pool',
      '13:49: names undeclared param "hots"',
      '14:47: "{{ run.id }}" is not allowed in an ssh host',
    ]],
    ['http-method.yaml', ['11:19: method must be one of GET, HEAD, POST, PUT, PATCH, DELETE', '14:25: method must be one of']],
    ['http-labels.yaml', [
      '14:16: "{{ labels.instance }}" is not allowed in an http request',
      '16:25: "{{ labels.instance }}" is not allowed in an http request',
      '17:17: "{{ labels.instance }}" is not allowed in an http request',
    ]],
    ['http-header-schema.yaml', [
      '14:18: missing required key "file"',
      '15:38: unknown key "prefx"',
      '16:18: expected string or object, got number 5',
      '17:13: header names are HTTP tokens',
      '18:31: Too big',
    ]],
    ['http-headers.yaml', [
      '16:36: a header file is an absolute path, never templated',
      '17:30: a header file is an absolute path, never templated',
      '18:13: header "Host" is set by the HTTP client',
      '20:13: header "X-D" is given twice',
      '21:18: header "X-E" contains a line break or NUL',
      '22:46: a header prefix is literal text',
      '23:18: names undeclared param "hots"',
    ]],
    ['http-url.yaml', [
      '11:33: url must start with http:// or https:// (not "ftp:")',
      '12:33: url must start with http:// or https://',
      '13:33: url must start with a literal http:// or https:// ("{{ params.host }}" is in its scheme)',
      '14:59: a GET request has no body',
      '15:60: a HEAD request has no body',
      '16:33: url must start with http:// or https:// (not "localhost:")',
      '17:47: a GET request has no body',
      '17:53: names undeclared param "hots"',
    ]],
    ['precheck-param.yaml', [
      '9:23: "{{ params.hots }}" names undeclared param "hots" (declared: host)',
      '13:28: "{{ run.id }}" is not allowed in PromQL text',
      '14:28: "{{ pool }}" is used but this runbook has no pool',
    ]],
    ['duplicate-step.yaml', ['11:17: step name "s" is used twice', '12:11: tier name "only" is used twice', '14:32: "{{ pool }}" is used but this runbook has no pool']],
];

describe('loadRunbookFile with the bad fixtures', () => {
  it.each(BAD)('refuses %s with every error at its line and column', async (name, expected) => {
    const file = fixture('bad', name);
    const result = await loadRunbookFile(file);
    expect(result.runbook).toBeUndefined();
    const got = result.errors.map(formatIssue);
    expect(got).toHaveLength(expected.length);
    expected.forEach((want, i) => {
      const [pos, ...rest] = want.split(': ');
      expect(got[i]?.startsWith(`${file}:${pos}: `)).toBe(true);
      expect(got[i]).toContain(rest.join(': '));
    });
  });

  it('has a test row for every bad fixture', () => {
    expect(readdirSync(path.join(FIXTURES, 'bad')).sort()).toEqual(BAD.map(([name]) => name).sort());
  });
});

describe('loadRunbookFile with the good fixtures', () => {
  it.each(readdirSync(path.join(FIXTURES, 'good')).sort())('loads %s without errors', async (name) => {
    const result = await loadRunbookFile(fixture('good', name));
    expect(result.errors).toEqual([]);
    expect(result.runbook).toBeDefined();
    expect(Object.isFrozen(result.runbook)).toBe(true);
  });

  it('records the sha256 of the file bytes and the file path', async () => {
    const file = fixture('good', 'minimal.yaml');
    const result = await loadRunbookFile(file);
    expect(result.runbook?.hash).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
    expect(result.runbook?.file).toBe(file);
  });

  it('fills the SPEC defaults', async () => {
    const rb = (await loadRunbookFile(fixture('good', 'minimal.yaml'))).runbook;
    expect(rb?.safety).toEqual({
      cooldownMs: 300_000,
      maxAttempts: { count: 3, perMs: 3_600_000 },
      maxPendingAgeMs: 900_000,
      maxConcurrentPerPool: 1,
      fleetBreaker: { maxTargets: 5, perMs: 600_000 },
      waitForMs: 0,
      precheck: null,
      silence: false,
    });
    expect(rb?.tiers[0]).toMatchObject({ verify: null, approvalTimeoutMs: null });
    expect(rb?.mode).toBe('enforce');
    expect(rb?.cancelOnResolve).toBe(false);
    expect(rb?.pool).toBeNull();
    expect(rb?.tiers[0]?.steps[0]).toMatchObject({ kind: 'run', ssh: null, timeoutMs: 60_000, until: null, continueOnError: false, idempotent: false });
  });

  it('warns, at the tier, that a tier without verify is recorded as unverified', async () => {
    const file = fixture('good', 'minimal.yaml');
    const result = await loadRunbookFile(file);
    expect(result.warnings.map(formatIssue)).toEqual([
      `${file}:7:5: tier "only" has no verify: it succeeds when its steps do, and is recorded as verified: false`,
    ]);
  });

  it('keeps script text verbatim, braces included, and gives a wait step its own duration as timeout', async () => {
    const rb = (await loadRunbookFile(fixture('good', 'full.yaml'))).runbook;
    const steps = rb?.tiers[0]?.steps ?? [];
    expect(steps[1]?.script).toBe('echo "{{ params.model }} stays literal" "$PARAM_MODEL"\n');
    expect(steps[2]).toMatchObject({ kind: 'wait', waitMs: 30_000, timeoutMs: 30_000 });
    expect(steps[3]?.until).toEqual({ everyMs: 10_000, withinMs: 600_000 });
    expect(rb?.tiers[0]?.onFailure.map((s) => s.name)).toEqual(['undo']);
  });

  it('compiles verify with its defaults, approval with its timeout, and silence', async () => {
    const rb = (await loadRunbookFile(fixture('good', 'full.yaml'))).runbook;
    expect(rb?.safety.silence).toBe(true);
    expect(rb?.tiers.map((t) => t.approvalTimeoutMs)).toEqual([null, 3_600_000, 1_800_000]);
    expect(rb?.tiers[0]?.verify).toMatchObject({ kind: 'promql', everyMs: 10_000, withinMs: 300_000, stableForMs: 20_000 });
    expect(rb?.tiers[0]?.verify?.kind === 'promql' && rb.tiers[0].verify.query.parts).toEqual([
      'vllm:num_requests_waiting{instance="',
      { kind: 'label', name: 'instance', escape: 'promql' },
      '", model_name="',
      { kind: 'param', name: 'model', escape: 'promql' },
      '"} < 50',
    ]);
    expect(rb?.tiers[1]?.verify).toEqual({ kind: 'alertResolved', everyMs: 20_000, withinMs: 600_000, stableForMs: 60_000 });
    expect(rb?.tiers[2]?.verify).toMatchObject({ kind: 'promql', everyMs: 15_000, withinMs: 300_000, stableForMs: 0 });
  });

  it('does not warn about tiers that verify', async () => {
    const result = await loadRunbookFile(fixture('good', 'full.yaml'));
    expect(result.warnings).toEqual([]);
  });

  it('reads unquoted matcher values and JSON escapes in quoted ones', async () => {
    const rb = (await loadRunbookFile(fixture('good', 'unquoted-and-escapes.yaml'))).runbook;
    expect(rb?.matchers.map((m) => [m.name, m.op, m.value])).toEqual([
      ['alertname', '=', 'Hung'],
      ['instance', '=~', '10\\.0\\.[0-9]+\\.[0-9]+:\\d+'],
      ['note', '=', 'say "hi"\tnow'],
    ]);
  });
});

describe('compileRunbook', () => {
  it.each<[string, string]>([
    ['', '1:1: expected object'],
    ['- a\n- b\n', '1:1: expected object'],
    ['name: a\n---\nname: b\n', '2:1: YAML: '],
  ])('refuses a document that is not one map: %j', (text, want) => {
    const result = compileRunbook('x.yaml', text);
    expect(result.runbook).toBeUndefined();
    expect(formatIssue(result.errors[0] ?? { file: '', line: 0, col: 0, message: '' })).toContain(`x.yaml:${want}`);
  });

  it('refuses a file that is not UTF-8', () => {
    const result = compileRunbook('x.yaml', Uint8Array.from([0x6e, 0x3a, 0xff, 0xfe]));
    expect(result.errors.map((e) => e.message)).toEqual(['file is not valid UTF-8']);
  });

  it('reports an unreadable file as an error result', async () => {
    const result = await loadRunbookFile(path.join(FIXTURES, 'no-such-file.yaml'));
    expect(result.errors[0]?.message).toMatch(/^cannot read: /);
  });

  it.each<[string, string, string]>([
    ['!!js/function', 'description: !!js/function "function () { return 1 }"', '3:14: YAML: Unresolved tag: tag:yaml.org,2002:js/function'],
    ['a local tag', 'description: !foo bar', '3:14: YAML: Unresolved tag: !foo'],
    ['a verbatim tag', 'description: !<tag:example.com,2000:x> y', '3:14: YAML: Unresolved tag: tag:example.com,2000:x'],
    ['the YAML 1.1 !!binary', 'description: !!binary aGk=', '3:14: YAML: Unresolved tag: tag:yaml.org,2002:binary'],
  ])('refuses an unknown YAML tag (%s) with its line and column', (_what, line, want) => {
    const result = compileRunbook('x.yaml', `name: a\nfaultClass: b\n${line}\nmatch: [alertname = "X"]\ntarget: t\ntiers: [{ name: t, steps: [{ name: s, run: [echo] }] }]\n`);
    expect(result.runbook).toBeUndefined();
    expect(result.errors.map(formatIssue)).toEqual([expect.stringContaining(`x.yaml:${want}`)]);
    expect(result.errors[0]?.message).toContain('a runbook is plain YAML');
  });

  it.each<[string, string, string]>([
    ['a backreference in a param pattern', "params: { v: { from: labels.v, pattern: '(a)\\1' } }", '5:41: invalid regex "(a)\\\\1": backreferences are not in RE2'],
    ['a lookahead in a param pattern', "params: { v: { from: labels.v, pattern: '(?=a)a' } }", '5:41: invalid regex "(?=a)a": lookahead and lookbehind are not in RE2'],
    ['a lookbehind in a matcher', 'match: [alertname = "X", \'v =~ "(?<!a)b"\']', '4:26: bad matcher "v =~ \\"(?<!a)b\\"": invalid regex "(?<!a)b": lookahead and lookbehind are not in RE2'],
    ['a repeat over 1000 in a param pattern', "params: { v: { from: labels.v, pattern: 'a{1,5000}' } }", '5:41: invalid regex "a{1,5000}"'],
  ])('refuses what RE2 cannot express: %s, with its line and column', (_what, line, want) => {
    const head = line.startsWith('match') ? `${line}\n` : `match: [alertname = "X"]\n${line}\n`;
    const text = `name: a\nfaultClass: b\ndescription: d\n${head}target: t\ntiers: [{ name: t, steps: [{ name: s, run: [echo] }] }]\n`;
    const result = compileRunbook('x.yaml', text);
    expect(result.runbook).toBeUndefined();
    expect(result.errors.map(formatIssue)).toEqual([expect.stringContaining(`x.yaml:${want}`)]);
  });

  it('refuses a file over the size cap before parsing it, naming the file and the cap', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'remediator-rb-')), 'big.yaml');
    // Valid YAML all the way: only the size is wrong with it.
    const big = `${readFileSync(fixture('good', 'minimal.yaml'), 'utf8')}\n${'# padding\n'.repeat(MAX_RUNBOOK_BYTES / 10)}`;
    writeFileSync(file, big);
    const result = await loadRunbookFile(file);
    expect(result.runbook).toBeUndefined();
    expect(result.errors.map(formatIssue)).toEqual([`${file}: file is ${Buffer.byteLength(big)} bytes, over the 262144-byte (256 KiB) cap on a runbook file`]);
    expect(compileRunbook('x.yaml', big).errors[0]?.message).toContain('over the 262144-byte (256 KiB) cap');
  });

  it('loads a file just under the cap', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'remediator-rb-')), 'ok.yaml');
    const head = readFileSync(fixture('good', 'minimal.yaml'), 'utf8');
    writeFileSync(file, `${head}\n${'#'.repeat(MAX_RUNBOOK_BYTES - Buffer.byteLength(head) - 2)}\n`);
    const result = await loadRunbookFile(file);
    expect(result.errors).toEqual([]);
  });
});
