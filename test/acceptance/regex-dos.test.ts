/** A pattern that backtracking regex engines take exponential time on cannot stall the service: matchers and params are RE2. */

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { startService, writeTokenFile, type ServiceHandle } from '../support/service.js';

// `([a-z0-9]+[.-]?)+` against 'a' × 28 + '!' stalled the whole process for over 10 s with ECMAScript regexes, doubling with each character.
const RUNBOOK = `name: regex-dos
faultClass: test
match:
  - alertname = "RegexDos"
  - instance =~ "([a-z0-9]+[.-]?)+|.*"
params:
  host: { from: labels.instance, pattern: '([a-z0-9]+[.-]?)+' }
target: "{{ params.host }}"
tiers:
  - name: only
    steps:
      - { name: never, run: ["true"] }
`;
const HOSTILE = `${'a'.repeat(5000)}!`;

const dir = makeTempDir('regex-dos');
let service: ServiceHandle;
let token: string;

beforeAll(async () => {
  fs.mkdirSync(path.join(dir, 'runbooks'));
  fs.writeFileSync(path.join(dir, 'runbooks', 'regex-dos.yaml'), RUNBOOK);
  const tokenFile = writeTokenFile(dir, 'hook-token-0123456789', 'webhook');
  token = fs.readFileSync(tokenFile, 'utf8').trim();
  service = await startService({
    config: {
      runbooks: path.join(dir, 'runbooks'),
      store: { url: `sqlite:${path.join(dir, 'remediator.db')}` },
      auth: { webhook: { bearerTokenFile: tokenFile } },
      limits: { shutdownGrace: '2s', killGrace: '1s' },
    },
    dir,
  });
  await service.waitReady();
}, 60_000);

afterAll(async () => {
  await service?.stop();
  removeTempDir(dir);
});

function body(i: number): string {
  return JSON.stringify({
    version: '4',
    groupKey: '{}:{alertname="RegexDos"}',
    status: 'firing',
    receiver: 'remediator',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager',
    truncatedAlerts: 0,
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'RegexDos', instance: HOSTILE },
        annotations: {},
        startsAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: (0xd05 + i).toString(16).padStart(16, '0'),
      },
    ],
  });
}

describe('a pathological param pattern against a long hostile label', () => {
  it('answers the webhook in its usual time with param_invalid while /-/healthy keeps answering', async () => {
    let polling = true;
    let slowestHealthMs = 0;
    let healthChecks = 0;
    const poll = (async () => {
      while (polling) {
        const started = Date.now();
        const res = await fetch(`${service.url}/-/healthy`);
        await res.arrayBuffer();
        expect(res.status).toBe(200);
        slowestHealthMs = Math.max(slowestHealthMs, Date.now() - started);
        healthChecks += 1;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const answers: Array<{ ms: number; status: number; reason: unknown }> = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const res = await fetch(`${service.url}/api/v1/alerts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body(i),
      });
      const json = (await res.json()) as { runs: string[]; decisions: Array<{ reason: unknown }> };
      answers.push({ ms: Date.now() - started, status: res.status, reason: json.decisions[0]?.reason });
      expect(json.runs).toEqual([]);
    }
    polling = false;
    await poll;
    // Generous bounds: RE2 answers in milliseconds; the backtracking engine did not answer within hours.
    for (const a of answers) expect(a).toEqual({ ms: expect.any(Number), status: 200, reason: 'param_invalid' });
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(2000);
    expect(healthChecks).toBeGreaterThan(0);
    expect(slowestHealthMs).toBeLessThan(2000);
  }, 60_000);
});
