/** Blast-radius limits through the whole service: a pool runs one at a time; the fleet breaker trips, latches and escalates once. */

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { eventually, startInProcess, webhookBody, type InProcess } from './in-process.js';

let env: InProcess | null = null;
afterEach(async () => {
  await env?.close();
  env = null;
});

interface WebhookJson {
  runs: string[];
  decisions: { decision: string; reason: string | null }[];
}

function runbookText(name: string, alertname: string, safety: string, steps: string, pool = ''): string {
  return `name: ${name}
faultClass: test
description: blast radius
match:
  - alertname = "${alertname}"
params:
  host: { from: labels.instance, pattern: '[a-z0-9-]+' }
  model: { from: labels.model, pattern: '[a-z0-9-]+' }
target: "{{ params.host }}"
${pool}
safety: ${safety}
tiers:
  - name: only
    steps:
${steps}
`;
}

const fp = (i: number): string => (0xb000 + i).toString(16).padStart(16, '0');

async function deliver(e: InProcess, alertname: string, host: string, i: number): Promise<WebhookJson> {
  const res = await e.api('POST', '/api/v1/alerts', webhookBody([{ labels: { alertname, instance: host, model: 'llama' }, fingerprint: fp(i) }]));
  expect(res.status).toBe(200);
  return res.json as WebhookJson;
}

async function allEnded(e: InProcess, ids: string[]): Promise<{ id: string; state: string }[]> {
  return eventually(async () => {
    const runs = await Promise.all(ids.map(async (id) => (await e.api('GET', `/api/v1/runs/${id}`)).json as { id: string; state: string }));
    return runs.every((r) => !['pending', 'running'].includes(r.state)) ? runs : undefined;
  }, 30_000, 'every run to end');
}

describe('maxConcurrentPerPool', () => {
  it('runs five targets of one pool one at a time, and all five finish', async () => {
    const probe = await startInProcess({});
    const dir = path.join(probe.dir, 'stamps');
    await probe.close();
    const steps = `      - name: stamp
        script: |
          mkdir -p ${dir}
          echo "start $(date +%s%N)" > ${dir}/$RUN_ID
          sleep 0.3
          echo "end $(date +%s%N)" >> ${dir}/$RUN_ID`;
    env = await startInProcess(
      { 'pool.yaml': runbookText('pooled', 'Pooled', '{ maxConcurrentPerPool: 1 }', steps, 'pool: "{{ params.model }}"') },
      'limits: { maxConcurrentRuns: 8 }',
    );
    const e = env;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(...(await deliver(e, 'Pooled', `node-${i}`, i)).runs);
    expect(ids).toHaveLength(5);
    const runs = await allEnded(e, ids);
    expect(runs.map((r) => r.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const spans = readdirSync(dir).map((f) => {
      const [start, end] = readFileSync(path.join(dir, f), 'utf8').trim().split('\n').map((l) => BigInt(l.split(' ')[1] ?? '0'));
      return { start: start ?? 0n, end: end ?? 0n };
    });
    spans.sort((a, b) => (a.start < b.start ? -1 : 1));
    expect(spans).toHaveLength(5);
    for (let i = 1; i < spans.length; i++) expect((spans[i]?.start ?? 0n) >= (spans[i - 1]?.end ?? 0n)).toBe(true);
    const decisions = (await e.api('GET', '/api/v1/decisions?runbook=pooled')).json as { decisions: { reason: string | null }[] };
    expect(decisions.decisions.every((d) => d.reason === null)).toBe(true);
    const metrics = (await e.api('GET', '/metrics')).text;
    expect(metrics).toMatch(/^remediator_decisions_total\{decision="run",reason="pool_busy"\} [1-9]/m);
  });
});

describe('fleetBreaker', () => {
  it('opens past maxTargets, refuses everything until reset, and escalates once', async () => {
    env = await startInProcess({
      'breaker.yaml': runbookText('breaker', 'Breaker', '{ cooldown: 0s, fleetBreaker: { maxTargets: 2, per: 10m } }', '      - name: ok\n        run: ["true"]'),
    });
    const e = env;
    const a = await deliver(e, 'Breaker', 'node-a', 10);
    const b = await deliver(e, 'Breaker', 'node-b', 11);
    expect([...a.runs, ...b.runs]).toHaveLength(2);
    const c = await deliver(e, 'Breaker', 'node-c', 12);
    expect(c.runs).toHaveLength(0);
    expect(c.decisions[0]).toMatchObject({ decision: 'skip', reason: 'fleet_breaker' });
    // Latched: even a target already seen is refused while it is open, and no second escalation is made.
    const a2 = await deliver(e, 'Breaker', 'node-a', 13);
    const d = await deliver(e, 'Breaker', 'node-d', 14);
    expect([a2.decisions[0]?.reason, d.decisions[0]?.reason]).toEqual(['fleet_breaker', 'fleet_breaker']);
    const listed = (await e.api('GET', '/api/v1/runbooks')).json as { runbooks: { name: string; breaker: { open: boolean } }[] };
    expect(listed.runbooks.find((r) => r.name === 'breaker')?.breaker.open).toBe(true);
    const escalations = (await e.api('GET', '/api/v1/escalations?runbook=breaker')).json as { escalations: { reason: string; target: string }[] };
    expect(escalations.escalations).toEqual([expect.objectContaining({ reason: 'fleet_breaker', target: 'node-c' })]);
    expect((await e.api('GET', '/metrics')).text).toMatch(/^remediator_escalations_total\{reason="fleet_breaker"\} 1$/m);

    expect((await e.api('POST', '/api/v1/runbooks/breaker/reset')).status).toBe(200);
    const after = await deliver(e, 'Breaker', 'node-a', 15);
    expect(after.runs).toHaveLength(1);
    await allEnded(e, [...a.runs, ...b.runs, ...after.runs]);
  });
});
