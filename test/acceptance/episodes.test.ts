/** Episodes through the whole service: one instant is one key, a resolution is remembered, repeats of a refusal fold. */

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { eventually, startInProcess, webhookBody, type InProcess } from './in-process.js';

interface DecisionJson {
  decision: string;
  reason: string | null;
  runId: string | null;
  deliveries: number;
  runbook: string | null;
  status: string;
}

const MARK = (dir: string): string => path.join(dir, 'executions.log');

function runbook(dir: string): string {
  return `name: episode-probe
faultClass: test
description: appends one line per execution
match:
  - alertname = "EpisodeProbe"
params:
  host: { from: labels.instance, pattern: '[a-z0-9.-]{1,64}' }
target: "{{ params.host }}"
tiers:
  - name: only
    steps:
      - name: append
        run: [bash, -c, 'echo "$RUN_ID" >> ${MARK(dir)}']
`;
}

let env: InProcess | null = null;
afterEach(async () => {
  await env?.close();
  env = null;
});

async function start(): Promise<InProcess> {
  const dir = (await import('node:fs')).mkdtempSync(path.join((await import('node:os')).tmpdir(), 'remediator-episodes-'));
  env = await startInProcess({ 'probe.yaml': runbook(dir) }, '', dir);
  return env;
}

function executions(e: InProcess): string[] {
  return existsSync(MARK(e.dir)) ? readFileSync(MARK(e.dir), 'utf8').trim().split('\n').filter(Boolean) : [];
}

async function decisions(e: InProcess): Promise<DecisionJson[]> {
  return ((await e.api('GET', '/api/v1/decisions?limit=500')).json as { decisions: DecisionJson[] }).decisions;
}

async function settled(e: InProcess): Promise<void> {
  await eventually(async () => {
    const runs = ((await e.api('GET', '/api/v1/runs?limit=500')).json as { runs: { state: string }[] }).runs;
    return runs.every((r) => !['pending', 'running'].includes(r.state)) ? true : undefined;
  }, 20_000, 'runs to end');
}

async function metric(e: InProcess, line: string): Promise<number> {
  const text = await (await fetch(`${e.url}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(line));
  return found === undefined ? Number.NaN : Number(found.slice(line.length).trim());
}

describe('one episode', () => {
  it('makes no run when its resolved notification arrives before a lagging firing copy', async () => {
    const e = await start();
    const alert = { labels: { alertname: 'EpisodeProbe', instance: 'gpu-1' }, fingerprint: '00000000000000a1', startsAt: '2026-12-01T10:00:00Z' };
    expect((await e.api('POST', '/api/v1/alerts', webhookBody([{ ...alert, status: 'resolved' }]))).status).toBe(200);
    const late = await e.api('POST', '/api/v1/alerts', webhookBody([{ ...alert, startsAt: '2026-12-01T10:00:00.000Z' }]));
    expect(late.status).toBe(200);
    expect(late.json).toMatchObject({ runs: [], decisions: [{ decision: 'skip', reason: 'resolved' }] });
    await new Promise((r) => setTimeout(r, 500));
    expect(executions(e)).toEqual([]);
    expect((await e.api('GET', '/api/v1/runs')).json).toMatchObject({ runs: [] });
  });

  it('makes one run for four spellings of one instant, the others counted as deliveries of it', async () => {
    const e = await start();
    const spellings = ['2026-12-01T10:00:00Z', '2026-12-01T10:00:00.000Z', '2026-12-01T11:00:00+01:00', '2026-12-01T10:00:00.000000Z'];
    const runs: string[] = [];
    for (const startsAt of spellings) {
      const res = await e.api('POST', '/api/v1/alerts', webhookBody([{ labels: { alertname: 'EpisodeProbe', instance: 'gpu-2' }, fingerprint: '00000000000000a2', startsAt }]));
      expect(res.status).toBe(200);
      runs.push(...(res.json as { runs: string[] }).runs);
    }
    expect(runs).toHaveLength(1);
    await settled(e);
    expect(executions(e)).toEqual(runs);
    expect(await decisions(e)).toEqual([expect.objectContaining({ decision: 'run', runId: runs[0], deliveries: 4 })]);
    expect(await metric(e, 'remediator_decisions_total{decision="skip",reason="duplicate"}')).toBe(3);
    expect(await metric(e, 'remediator_decisions_total{decision="run",reason="none"}')).toBe(1);
  });

  it.each(['2026-02-30T10:00:00Z', '2025-02-29T00:00:00Z', '2026-12-01T24:00:00Z', '2026-12-01T10:00:60Z'])('answers 400 for the impossible startsAt %s', async (startsAt) => {
    const e = await start();
    const res = await e.api('POST', '/api/v1/alerts', webhookBody([{ labels: { alertname: 'EpisodeProbe', instance: 'gpu-3' }, startsAt }]));
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'BAD_PAYLOAD', message: expect.stringContaining('alerts[0].startsAt') } });
  });
});

describe('repeats of a refusal', () => {
  it('fold 2,000 no_match repeats and 500 param_invalid repeats into one row each, with one escalation', async () => {
    const e = await start();
    const noMatch = webhookBody([{ labels: { alertname: 'Unrelated', instance: 'x' }, fingerprint: '00000000000000b1' }]);
    const invalid = webhookBody([{ labels: { alertname: 'EpisodeProbe', instance: 'BAD HOST!' }, fingerprint: '00000000000000b2' }]);
    for (let i = 0; i < 2000; i++) expect((await e.api('POST', '/api/v1/alerts', noMatch)).status).toBe(200);
    for (let i = 0; i < 500; i++) expect((await e.api('POST', '/api/v1/alerts', invalid)).status).toBe(200);
    const rows = await decisions(e);
    expect(rows).toHaveLength(2);
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ runbook: null, reason: 'no_match', deliveries: 2000 }),
        expect.objectContaining({ runbook: 'episode-probe', reason: 'param_invalid', deliveries: 500 }),
      ]),
    );
    const escalations = await e.service.store.listEscalations({}, { limit: 100, cursor: null });
    expect(escalations.items.map((x) => x.reason)).toEqual(['param_invalid']);
    expect(await metric(e, 'remediator_decisions_total{decision="skip",reason="param_invalid"}')).toBe(500);
    expect(await metric(e, 'remediator_escalations_total{reason="param_invalid"}')).toBe(1);
  }, 120_000);
});
