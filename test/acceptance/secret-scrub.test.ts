/** Every secret remediator read is scrubbed from every step's stored output, whatever its length and wherever the output cap cuts it. */

import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, startInProcess, webhookBody, type InProcess } from './in-process.js';

interface StepJson {
  name: string;
  state: string;
  stdout: string;
}
interface RunJson {
  state: string;
  tiers: { steps: StepJson[] }[];
}

// Shorter than the 4 characters the scrubber used to require, and long enough to be cut by the cap.
const SHORT = 'Zq7';
const LONG = 'LongHeaderSecret-0123456789abcdef';
const FINAL = new Set(['succeeded', 'failed', 'canceled', 'interrupted']);

let env: InProcess;
let server: http.Server;
const seen: string[] = [];

function runbook(shortFile: string, longFile: string, port: number): string {
  return `name: secrets
faultClass: test
match: [alertname = "Secrets"]
params:
  host: { from: labels.instance, pattern: '[a-z0-9-]+' }
target: "{{ params.host }}"
tiers:
  - name: only
    steps:
      - { name: before, run: [cat, ${shortFile}] }
      - name: call
        continueOnError: true
        http:
          url: "http://127.0.0.1:${port}/x"
          headers:
            X-Short: { file: ${shortFile} }
            Authorization: { file: ${longFile}, prefix: "Token " }
      - { name: after, run: [bash, -c, 'echo "short=$(cat ${shortFile}) long=$(cat ${longFile})"'] }
      - { name: cut, run: [bash, -c, 'printf "%01018d" 0; cat ${longFile}'] }
`;
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(String(req.headers['x-short']));
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const probe = await startInProcess({});
  const shortFile = path.join(probe.dir, 'short.key');
  const longFile = path.join(probe.dir, 'long.key');
  writeFileSync(shortFile, `${SHORT}\n`);
  writeFileSync(longFile, `${LONG}\n`);
  await probe.close();
  env = await startInProcess({ 'secrets.yaml': runbook(shortFile, longFile, port) }, 'limits: { maxOutputBytes: 1024 }\nhttp: { allowHosts: ["127.0.0.1/32"] }');
}, 30_000);

afterAll(async () => {
  await env.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function finishedRun(): Promise<RunJson> {
  const res = await env.api('POST', '/api/v1/alerts', webhookBody([{ labels: { alertname: 'Secrets', instance: 'node-1' } }]));
  expect(res.status).toBe(200);
  const runId = (res.json as { runs: string[] }).runs[0] as string;
  return eventually(async () => {
    const run = (await env.api('GET', `/api/v1/runs/${runId}`)).json as RunJson;
    return FINAL.has(run.state) ? run : undefined;
  }, 20_000, 'the run to end');
}

describe('stored step output', () => {
  let steps: Map<string, StepJson>;
  beforeAll(async () => {
    const run = await finishedRun();
    steps = new Map(run.tiers[0]?.steps.map((s) => [s.name, s]));
  }, 30_000);

  it('is scrubbed of a header file printed by a step before the http step read it, however short', () => {
    expect(steps.get('before')?.state).toBe('succeeded');
    expect(steps.get('before')?.stdout).toBe('[REDACTED]\n');
  });

  it('is scrubbed of header files printed by a later step', () => {
    const stdout = steps.get('after')?.stdout ?? '';
    expect(stdout).toContain('short=[REDACTED]');
    expect(stdout).not.toContain(SHORT);
    expect(stdout).not.toContain(LONG.slice(0, 8));
  });

  it('is scrubbed of a secret the output cap cut in two', () => {
    const stdout = steps.get('cut')?.stdout ?? '';
    // 1018 zeros, then the first 6 characters of the secret were what the 1024-byte cap kept.
    expect(stdout).toBe(`${'0'.repeat(1018)}[REDACTED]`);
    expect(stdout).not.toContain(LONG.slice(0, 6));
  });

  it('still sends the secret where it belongs', () => {
    expect(seen).toContain(SHORT);
  });
});
