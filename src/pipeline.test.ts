import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { labelSet, type Alert } from './core/alert.js';
import type { Runbook } from './core/runbook.js';
import { SqliteRunStore } from './history/sqlite/sqlite-store.js';
import { createCatalog } from './match/catalog.js';
import { compileRunbook } from './match/load-runbook.js';
import { createDelivery } from './pipeline.js';
import type { DeliveryOutcome } from './guard/guard-types.js';

let store: SqliteRunStore | null = null;
afterEach(async () => {
  await store?.close();
  store = null;
});

function runbook(name: string, safety = '{}', mode = 'enforce'): Runbook {
  const text = `name: ${name}
faultClass: test
description: decision order
mode: ${mode}
match:
  - alertname = "Order"
params:
  host: { from: labels.instance, pattern: '[a-z0-9-]+' }
target: "{{ params.host }}"
safety: ${safety}
tiers:
  - name: only
    steps:
      - name: ok
        run: ["true"]
`;
  const loaded = compileRunbook(`${name}.yaml`, text);
  if (loaded.runbook === undefined) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
  return loaded.runbook;
}

let fp = 0;
function alert(instance: string, over: Partial<Alert> = {}): Alert {
  fp++;
  return {
    status: 'firing',
    labels: labelSet([['alertname', 'Order'], ['instance', instance]]),
    annotations: labelSet([]),
    startsAt: '2026-12-01T10:00:00Z',
    endsAt: '',
    generatorURL: '',
    fingerprint: fp.toString(16).padStart(16, '0'),
    ...over,
  };
}

async function delivery(runbooks: Runbook[]): Promise<{ deliver: (alerts: Alert[]) => Promise<DeliveryOutcome>; store: SqliteRunStore }> {
  store = new SqliteRunStore({ path: path.join(mkdtempSync(path.join(tmpdir(), 'remediator-pipeline-')), 'db.sqlite') });
  await store.open();
  const s = store;
  const catalog = createCatalog(runbooks);
  const deliver = createDelivery({ match: (a) => catalog.match(a), commit: (g) => s.transact(g), plan: { publicURL: 'http://r' }, afterCommit: () => undefined });
  return { deliver, store: s };
}

const reasons = (out: DeliveryOutcome): string[] => out.tally.map((t) => `${t.decision}/${t.reason ?? 'none'}`);

describe('the decision order of SPEC §6, first rule that applies wins', () => {
  it.each<[string, (store: SqliteRunStore, rb: Runbook) => Promise<void>, string, string]>([
    ['nothing stands in the way', async () => undefined, 'gpu-a', 'run/none'],
    ['the runbook is paused', (s, rb) => s.setRunbookPause(rb.name, true), 'gpu-a', 'skip/runbook_paused'],
    ['everything is paused', (s) => s.setGlobalPause(true), 'gpu-a', 'skip/paused'],
    ['paused beats an invalid param', (s) => s.setGlobalPause(true), 'BAD!', 'skip/paused'],
    ['a param does not fit its pattern', async () => undefined, 'BAD!', 'skip/param_invalid'],
  ])('when %s', async (_what, arrange, instance, expected) => {
    const rb = runbook('order');
    const { deliver, store: s } = await delivery([rb]);
    await arrange(s, rb);
    expect(reasons(await deliver([alert(instance)]))).toEqual([expected]);
  });

  it('answers no_match, then duplicate for a repeat of an episode that holds a run, then already_running for another episode on its target', async () => {
    const { deliver } = await delivery([runbook('order')]);
    expect(reasons(await deliver([alert('gpu-a', { labels: labelSet([['alertname', 'Other']]) })]))).toEqual(['skip/no_match']);
    const first = alert('gpu-a');
    expect(reasons(await deliver([first]))).toEqual(['run/none']);
    expect(reasons(await deliver([{ ...first, startsAt: '2026-12-01T11:00:00+01:00' }]))).toEqual(['skip/duplicate']);
    expect(reasons(await deliver([alert('gpu-a')]))).toEqual(['skip/already_running']);
  });

  it('answers resolved for a firing copy of an episode whose resolved notification came first, even while paused', async () => {
    const { deliver, store: s } = await delivery([runbook('order')]);
    const a = alert('gpu-b');
    expect(reasons(await deliver([{ ...a, status: 'resolved' }]))).toEqual(['skip/resolved']);
    await s.setGlobalPause(true);
    const out = await deliver([a]);
    expect(reasons(out)).toEqual(['skip/resolved']);
    expect(out.decisions).toEqual([expect.objectContaining({ reason: 'resolved', deliveries: 2 })]);
  });

  it('makes a shadow run whatever the enforce-mode limits say', async () => {
    const { deliver } = await delivery([runbook('order', '{ maxAttempts: { count: 1, per: 1h } }', 'shadow')]);
    expect(reasons(await deliver([alert('gpu-c')]))).toEqual(['run/shadow']);
    expect(reasons(await deliver([alert('gpu-c')]))).toEqual(['run/shadow']);
  });

  it('defers a run with waitFor as a plain run that waits', async () => {
    const { deliver, store: s } = await delivery([runbook('order', '{ waitFor: 1m }')]);
    const out = await deliver([alert('gpu-d')]);
    expect(reasons(out)).toEqual(['run/none']);
    const run = await s.getRun(out.runs[0] ?? '');
    expect(Date.parse(run?.notBefore ?? '') - Date.parse(run?.createdAt ?? '')).toBeGreaterThanOrEqual(60_000);
  });

  it('escalates a refusal once per episode however often it repeats, and again for a new episode', async () => {
    const { deliver } = await delivery([runbook('order')]);
    const bad = alert('BAD!');
    const escalated = async (a: Alert): Promise<string[]> => (await deliver([a])).escalations;
    expect(await escalated(bad)).toEqual(['param_invalid']);
    expect(await escalated(bad)).toEqual([]);
    expect(await escalated({ ...bad, startsAt: '2026-12-01T10:00:00.000Z' })).toEqual([]);
    expect(await escalated({ ...bad, startsAt: '2026-12-01T12:00:00Z' })).toEqual(['param_invalid']);
  });
});

describe('the fleet breaker', () => {
  it.each<[number, string[], string[]]>([
    [2, ['t-1', 't-2'], ['run/none', 'run/none']],
    [2, ['t-1', 't-2', 't-3'], ['run/none', 'run/none', 'skip/fleet_breaker']],
    [1, ['t-1', 't-2', 't-3'], ['run/none', 'skip/fleet_breaker', 'skip/fleet_breaker']],
  ])('with maxTargets %d, alerts on %j decide %j', async (maxTargets, targets, expected) => {
    const { deliver } = await delivery([runbook('order', `{ fleetBreaker: { maxTargets: ${maxTargets}, per: 10m } }`)]);
    const got: string[] = [];
    for (const t of targets) got.push(...reasons(await deliver([alert(t)])));
    expect(got).toEqual(expected);
  });

  it('escalates once when it opens, not for every alert it then refuses, and lets a known target through', async () => {
    const { deliver } = await delivery([runbook('order', '{ fleetBreaker: { maxTargets: 1, per: 10m } }')]);
    await deliver([alert('t-1')]);
    expect((await deliver([alert('t-2')])).escalations).toEqual(['fleet_breaker']);
    expect((await deliver([alert('t-3')])).escalations).toEqual([]);
    expect(reasons(await deliver([alert('t-1')]))).toEqual(['skip/fleet_breaker']);
  });
});
