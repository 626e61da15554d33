/** Hostile label values either are refused as param_invalid or reach the command as exactly one literal argument. */

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, startInProcess, webhookBody, type InProcess } from './in-process.js';

const RECORD_ARGV = fileURLToPath(new URL('../fixtures/bin/record-argv', import.meta.url));

let env: InProcess;
let out: string;

function runbookText(name: string, alertname: string, allowLeadingDash: boolean): string {
  return `name: ${name}
faultClass: test
description: hostile values
match:
  - alertname = "${alertname}"
params:
  v: { from: labels.payload, pattern: '[\\s\\S]{0,1000}', allowLeadingDash: ${allowLeadingDash} }
  id: { from: labels.instance, pattern: 'h[0-9]+' }
target: "{{ params.id }}"
safety: { cooldown: 0s, maxAttempts: { count: 1000, per: 1h }, fleetBreaker: { maxTargets: 10000, per: 1m } }
tiers:
  - name: only
    steps:
      - name: argv
        run: [${RECORD_ARGV}, "${'$'}OUT/argv-{{ run.id }}", "{{ params.v }}", "fixed"]
      - name: env
        script: |
          printf '%s' "$PARAM_V" > "${'$'}OUT/script-$RUN_ID"
`.replaceAll('$OUT', out);
}

const CANARY = (): string => path.join(out, 'CANARY');

const HOSTILE: [string, string][] = [
  ['command substitution', '$(touch CANARY)'],
  ['absolute command substitution', `$(touch ${'CANARY_ABS'})`],
  ['backticks', '`touch CANARY`'],
  ['a semicolon', 'x; touch CANARY'],
  ['a pipe', 'x | touch CANARY'],
  ['an ampersand', 'x && touch CANARY &'],
  ['a newline', 'x\ntouch CANARY'],
  ['a carriage return', 'x\r\ntouch CANARY'],
  ['quotes', `'"; touch CANARY; echo "'`],
  ['a redirect', '> CANARY'],
  ['a glob', '* ? [a-z]'],
  ['a leading dash', '--output=CANARY'],
  ['a lone dash', '-'],
  ['a 1,000-character string', 'A'.repeat(1000)],
  ['escapes that look like non-UTF-8 bytes', '\\xff\\xfe\\x00 %ff %00'],
  ['real non-ASCII text', 'modèle-量子-🚀'],
  ['a template in the value', '{{ params.v }} {{ run.id }}'],
  ['shell variables', '$HOME ${PATH} $RUN_ID'],
  ['spaces', '   spaced   out   '],
];

beforeAll(async () => {
  const probe = await startInProcess({});
  out = probe.dir;
  await probe.close();
  env = await startInProcess(
    {
      'dash.yaml': runbookText('hostile-dash-allowed', 'Hostile', true),
      'nodash.yaml': runbookText('hostile-dash-refused', 'HostileStrict', false),
    },
    '',
    undefined,
  );
}, 30_000);

afterAll(async () => {
  await env.close();
});

async function deliver(alertname: string, payload: string, i: number): Promise<{ runs: string[]; decisions: { reason: string | null }[] }> {
  const body = webhookBody([{ labels: { alertname, instance: `h${i}`, payload }, fingerprint: (0xa000 + i).toString(16).padStart(16, '0') }]);
  const res = await env.api('POST', '/api/v1/alerts', body);
  expect(res.status).toBe(200);
  return res.json as { runs: string[]; decisions: { reason: string | null }[] };
}

async function recorded(file: string): Promise<Buffer> {
  return eventually(async () => (existsSync(file) ? readFileSync(file) : undefined), 15_000, file);
}

describe('hostile label values', () => {
  it.each(HOSTILE.map(([what, value], i) => [what, value, i] as const))('passes %s as one literal argument and one variable', async (_what, value, i) => {
    const res = await deliver('Hostile', value, i);
    expect(res.runs).toHaveLength(1);
    const runId = res.runs[0] as string;
    const argv = (await recorded(path.join(out, `argv-${runId}`))).toString('utf8');
    expect(argv).toBe(`${value}\0fixed\0`);
    const script = (await recorded(path.join(out, `script-${runId}`))).toString('utf8');
    expect(script).toBe(value);
  });

  it.each([
    ['a NUL byte', 'x\u0000touch CANARY', 900],
    ['a lone surrogate, which is not well-formed Unicode', 'x\ud800y', 901],
    ['a value over the pattern bound', 'B'.repeat(1001), 902],
    ['an empty string, which Prometheus treats as a missing label', '', 903],
  ])('refuses %s as param_invalid', async (_what, value, i) => {
    const res = await deliver('Hostile', value, i);
    expect(res.runs).toHaveLength(0);
    expect(res.decisions[0]?.reason).toBe('param_invalid');
  });

  it('refuses a leading dash unless the param allows it', async () => {
    const res = await deliver('HostileStrict', '--help', 904);
    expect(res.runs).toHaveLength(0);
    expect(res.decisions[0]?.reason).toBe('param_invalid');
  });

  it('never lets the canary appear', async () => {
    await new Promise((r) => setTimeout(r, 500));
    expect(existsSync(CANARY())).toBe(false);
    expect(readdirSync(out).filter((f) => f.startsWith('CANARY'))).toEqual([]);
    expect(existsSync(path.join(process.cwd(), 'CANARY'))).toBe(false);
    expect(existsSync(path.join(env.dir, 'CANARY'))).toBe(false);
  });
});
