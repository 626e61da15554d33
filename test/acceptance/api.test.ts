/** Scenarios through the HTTP API against the whole service in-process: real SQLite, real runbooks, real child processes. */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { eventually, startInProcess, TOKEN, webhookBody, type InProcess } from './in-process.js';

interface RunJson {
  id: string;
  state: string;
  reason: string | null;
  notBefore?: string | null;
  tiers: { name: string; state: string; steps: { name: string; state: string; stdout: string; exitCode: number | null }[] }[];
}
interface DecisionJson {
  decision: string;
  reason: string | null;
  runId: string | null;
  deliveries: number;
  runbook: string | null;
}
interface WebhookJson {
  runs: string[];
  decisions: DecisionJson[];
}

const FINAL = ['succeeded', 'failed', 'canceled', 'interrupted', 'shadow', 'skipped'];

function runbook(name: string, dir: string, body: string, header = ''): string {
  return [
    `name: ${name.toLowerCase()}`,
    'faultClass: test',
    `description: ${name} for tests`,
    'match:',
    `  - alertname = "${name}"`,
    'params:',
    "  host: { from: labels.instance, transform: host, pattern: '[a-z0-9.-]{1,64}' }",
    'target: "{{ params.host }}"',
    header,
    'tiers:',
    '  - name: only',
    '    steps:',
    body.replaceAll('$DIR', dir),
  ].join('\n');
}

const appendStep = (file: string): string => `      - name: append\n        run: [bash, -c, 'echo "$RUN_ID" >> ${file}']`;

let env: InProcess | null = null;
afterEach(async () => {
  await env?.close();
  env = null;
});

async function start(runbooks: Record<string, string>, extra = ''): Promise<InProcess> {
  env = await startInProcess(runbooks, extra);
  return env;
}

async function post(e: InProcess, alerts: Parameters<typeof webhookBody>[0]): Promise<WebhookJson> {
  const res = await e.api('POST', '/api/v1/alerts', webhookBody(alerts));
  expect(res.status).toBe(200);
  return res.json as WebhookJson;
}

async function finalRun(e: InProcess, id: string, timeoutMs = 15_000): Promise<RunJson> {
  return eventually(async () => {
    const run = (await e.api('GET', `/api/v1/runs/${id}`)).json as RunJson;
    return FINAL.includes(run.state) ? run : undefined;
  }, timeoutMs, `run ${id} to end`);
}

const alert = (name: string, startsAt = '2026-11-26T14:31:52.553Z', fingerprint = 'abcdef0123456789') => ({
  labels: { alertname: name, instance: 'gpu-node-1:9100' },
  startsAt,
  fingerprint,
});

describe('the webhook refuses bad deliveries with their documented status and stays ready', () => {
  it.each([
    ['malformed JSON', '{"version": "4", "alerts": [', {}, 400, 'BAD_JSON'],
    ['a wrong payload version', JSON.stringify({ ...webhookBody([]), version: '3' }), {}, 400, 'UNSUPPORTED_VERSION'],
    ['a missing alerts array', JSON.stringify({ version: '4', status: 'firing' }), {}, 400, 'BAD_PAYLOAD'],
    ['a 2 MB body', JSON.stringify({ ...webhookBody([]), pad: 'x'.repeat(2 * 1024 * 1024) }), {}, 413, 'BODY_TOO_LARGE'],
    ['a wrong token', JSON.stringify(webhookBody([])), { authorization: 'Bearer wrong' }, 401, 'UNAUTHORIZED'],
    ['no credentials', JSON.stringify(webhookBody([])), { authorization: '' }, 401, 'UNAUTHORIZED'],
  ])('answers %s', async (_what, body, headers, status, code) => {
    const e = await start({ 'a.yaml': runbook('Noop', '', '      - name: noop\n        run: ["true"]') });
    const res = await e.api('POST', '/api/v1/alerts', body, headers);
    expect(res.status).toBe(status);
    expect((res.json as { error: { code: string } }).error.code).toBe(code);
    expect((await e.api('GET', '/-/ready')).status).toBe(200);
    expect((await e.api('POST', '/api/v1/alerts', webhookBody([alert('Noop')]))).status).toBe(200);
  });
});

describe('runs through the API', () => {
  it('runs a matching runbook once and shows it succeeded with its stdout', async () => {
    const e = await start({ 'a.yaml': runbook('Echo', '', '      - name: hello\n        run: [echo, "hello {{ params.host }}"]') });
    const out = await post(e, [alert('Echo')]);
    expect(out.runs).toHaveLength(1);
    expect(out.decisions[0]).toMatchObject({ decision: 'run', reason: null, runbook: 'echo', deliveries: 1 });
    const run = await finalRun(e, out.runs[0] as string);
    expect(run.state).toBe('succeeded');
    expect(run.tiers[0]?.steps[0]).toMatchObject({ name: 'hello', state: 'succeeded', exitCode: 0, stdout: 'hello gpu-node-1\n' });
  });

  it('stores step output scrubbed of configured secrets and secret-looking text', async () => {
    const steps = `      - name: leak\n        run: [echo, "token ${TOKEN} password=hunter2 ok"]`;
    const e = await start({ 'a.yaml': runbook('Leak', '', steps) });
    const out = await post(e, [alert('Leak')]);
    const run = await finalRun(e, out.runs[0] as string);
    const stdout = run.tiers[0]?.steps[0]?.stdout ?? '';
    expect(stdout).toContain('[REDACTED]');
    expect(stdout).toContain('ok');
    expect(stdout).not.toContain(TOKEN);
    expect(stdout).not.toContain('hunter2');
  });

  it('makes exactly one run of 200 concurrent deliveries of one episode', async () => {
    const e0 = await startInProcess({});
    const count = path.join(e0.dir, 'count');
    await e0.close();
    const e = await start({ 'a.yaml': runbook('Once', '', appendStep(count)) });
    const answers = await Promise.all(Array.from({ length: 200 }, () => e.api('POST', '/api/v1/alerts', webhookBody([alert('Once')]))));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const created = answers.flatMap((a) => (a.json as WebhookJson).runs);
    expect(created).toHaveLength(1);
    await finalRun(e, created[0] as string);
    await new Promise((r) => setTimeout(r, 500));
    expect(readFileSync(count, 'utf8').trim().split('\n')).toEqual([created[0]]);
    const decisions = (await e.api('GET', '/api/v1/decisions?runbook=once')).json as { decisions: DecisionJson[] };
    expect(decisions.decisions).toHaveLength(1);
    expect(decisions.decisions[0]).toMatchObject({ decision: 'run', deliveries: 200 });
  });

  it('defers a new episode on the same target until the cooldown ends', async () => {
    const e = await start({ 'a.yaml': runbook('Cool', '', '      - name: ok\n        run: ["true"]', 'safety: { cooldown: 1h }') });
    const first = await post(e, [alert('Cool')]);
    await finalRun(e, first.runs[0] as string);
    const second = await post(e, [alert('Cool', '2026-11-26T15:00:00Z')]);
    expect(second.decisions[0]).toMatchObject({ decision: 'run', reason: 'cooldown' });
    const run = (await e.api('GET', `/api/v1/runs/${second.runs[0]}`)).json as RunJson;
    expect(run.state).toBe('pending');
    expect(Date.parse(run.notBefore ?? '')).toBeGreaterThan(Date.now() + 3_500_000);
  });

  it('skips a new episode as already_running while the same runbook acts on the target', async () => {
    const e = await start({ 'a.yaml': runbook('Busy', '', '      - name: long\n        run: [sleep, "30"]\n        timeout: 1m') });
    const first = await post(e, [alert('Busy')]);
    const second = await post(e, [alert('Busy', '2026-11-26T15:00:00Z')]);
    expect(second.runs).toHaveLength(0);
    expect(second.decisions[0]).toMatchObject({ decision: 'skip', reason: 'already_running', runId: null });
    await e.api('POST', `/api/v1/runs/${first.runs[0]}/cancel`);
    expect((await finalRun(e, first.runs[0] as string)).state).toBe('canceled');
  });

  it('escalates once as still_firing when an episode keeps being delivered after its run ended and its cooldown passed', async () => {
    const e = await start({ 'a.yaml': runbook('Holds', '', '      - name: ok\n        run: ["true"]', 'safety: { cooldown: 0s }') });
    const first = await post(e, [alert('Holds')]);
    await finalRun(e, first.runs[0] as string);
    for (let i = 0; i < 3; i++) expect((await post(e, [alert('Holds')])).decisions[0]).toMatchObject({ reason: null, runId: first.runs[0] });
    const { escalations } = (await e.api('GET', '/api/v1/escalations?runbook=holds')).json as { escalations: { reason: string; runId: string }[] };
    expect(escalations).toEqual([expect.objectContaining({ reason: 'still_firing', runId: first.runs[0] })]);
  });

  it('refuses a run past the attempt budget', async () => {
    const e = await start({
      'a.yaml': runbook('Budget', '', '      - name: ok\n        run: ["true"]', 'safety: { cooldown: 0s, maxAttempts: { count: 2, per: 1h } }'),
    });
    for (const startsAt of ['2026-11-26T15:00:00Z', '2026-11-26T15:01:00Z']) {
      const out = await post(e, [alert('Budget', startsAt)]);
      expect((await finalRun(e, out.runs[0] as string)).state).toBe('succeeded');
    }
    const third = await post(e, [alert('Budget', '2026-11-26T15:02:00Z')]);
    expect(third.runs).toHaveLength(0);
    expect(third.decisions[0]).toMatchObject({ decision: 'skip', reason: 'attempts_exhausted' });
  });

  it('skips alerts while paused globally and acts again after resume', async () => {
    const e = await start({ 'a.yaml': runbook('Pause', '', '      - name: ok\n        run: ["true"]') });
    expect((await e.api('POST', '/api/v1/pause')).status).toBe(200);
    const paused = await post(e, [alert('Pause')]);
    expect(paused.decisions[0]).toMatchObject({ decision: 'skip', reason: 'paused' });
    expect((await e.api('GET', '/api/v1/runbooks')).json).toMatchObject({ globalPaused: true });
    expect((await e.api('POST', '/api/v1/resume')).status).toBe(200);
    const resumed = await post(e, [alert('Pause')]);
    expect(resumed.decisions[0]).toMatchObject({ decision: 'run' });
    expect((await finalRun(e, resumed.runs[0] as string)).state).toBe('succeeded');
  });

  it('skips alerts for a paused runbook only', async () => {
    const e = await start({
      'a.yaml': runbook('PausedOne', '', '      - name: ok\n        run: ["true"]'),
      'b.yaml': runbook('OtherOne', '', '      - name: ok\n        run: ["true"]'),
    });
    expect((await e.api('POST', '/api/v1/runbooks/pausedone/pause')).status).toBe(200);
    expect((await e.api('POST', '/api/v1/runbooks/nope/pause')).status).toBe(404);
    const out = await post(e, [alert('PausedOne'), alert('OtherOne', undefined, '0123456789abcdef')]);
    expect(out.decisions.map((d) => [d.runbook, d.reason])).toEqual([
      ['pausedone', 'runbook_paused'],
      ['otherone', null],
    ]);
    const list = (await e.api('GET', '/api/v1/runbooks')).json as { runbooks: { name: string; paused: boolean }[] };
    expect(list.runbooks.find((r) => r.name === 'pausedone')?.paused).toBe(true);
    await e.api('POST', '/api/v1/runbooks/pausedone/resume');
    expect((await post(e, [alert('PausedOne')])).decisions[0]?.reason).toBeNull();
  });

  it('stops a running run at its next step boundary when the kill switch is thrown', async () => {
    const e0 = await startInProcess({});
    const marker = path.join(e0.dir, 'second-step-ran');
    await e0.close();
    const steps = `      - name: slow\n        run: [sleep, "1.5"]\n      - name: second\n        run: [touch, ${marker}]`;
    const e = await start({ 'a.yaml': runbook('Kill', '', steps) });
    const out = await post(e, [alert('Kill')]);
    await eventually(async () => (((await e.api('GET', `/api/v1/runs/${out.runs[0]}`)).json as RunJson).state === 'running' ? true : undefined));
    await e.api('POST', '/api/v1/pause');
    const run = await finalRun(e, out.runs[0] as string);
    expect(run).toMatchObject({ state: 'canceled', reason: 'paused' });
    expect(run.tiers[0]?.steps[0]?.state).toBe('succeeded');
    expect(existsSync(marker)).toBe(false);
  });

  it('cancels a running run and kills its step', async () => {
    const e = await start({ 'a.yaml': runbook('Cancel', '', '      - name: long\n        run: [sleep, "60"]\n        timeout: 2m') });
    const out = await post(e, [alert('Cancel')]);
    const id = out.runs[0] as string;
    await eventually(async () => {
      const run = (await e.api('GET', `/api/v1/runs/${id}`)).json as RunJson;
      return run.tiers[0]?.steps[0]?.state === 'running' ? true : undefined;
    });
    const started = Date.now();
    const res = await e.api('POST', `/api/v1/runs/${id}/cancel`);
    expect(res.status).toBe(202);
    const run = await finalRun(e, id, 10_000);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(run.state).toBe('canceled');
    expect((await e.api('POST', `/api/v1/runs/${id}/cancel`)).status).toBe(409);
    expect((await e.api('POST', '/api/v1/runs/does-not-exist/cancel')).status).toBe(404);
  });

  it('cancels a pending run at once', async () => {
    const e = await start({ 'a.yaml': runbook('CancelPending', '', '      - name: ok\n        run: ["true"]', 'safety: { cooldown: 1h }') });
    const first = await post(e, [alert('CancelPending')]);
    await finalRun(e, first.runs[0] as string);
    const deferred = await post(e, [alert('CancelPending', '2026-11-26T16:00:00Z')]);
    const res = await e.api('POST', `/api/v1/runs/${deferred.runs[0]}/cancel`);
    expect(res.json).toMatchObject({ state: 'canceled' });
    expect((await finalRun(e, deferred.runs[0] as string)).state).toBe('canceled');
  });

  it('records the rendered plan of a shadow runbook and runs nothing', async () => {
    const e0 = await startInProcess({});
    const marker = path.join(e0.dir, 'shadow-ran');
    await e0.close();
    const e = await start({ 'a.yaml': runbook('Shadow', '', `      - name: touch\n        run: [touch, ${marker}]`, 'mode: shadow') });
    const out = await post(e, [alert('Shadow')]);
    expect(out.decisions[0]).toMatchObject({ decision: 'run', reason: 'shadow' });
    const run = (await e.api('GET', `/api/v1/runs/${out.runs[0]}`)).json as RunJson & { plan: { tiers: { steps: { argv: string[] }[] }[] } };
    expect(run.state).toBe('shadow');
    expect(run.plan.tiers[0]?.steps[0]?.argv).toEqual(['touch', marker]);
    await new Promise((r) => setTimeout(r, 700));
    expect(existsSync(marker)).toBe(false);
  });

  it('cancels the episode pending run when the alert resolves', async () => {
    const e = await start({ 'a.yaml': runbook('Resolve', '', '      - name: ok\n        run: ["true"]', 'safety: { cooldown: 1h }') });
    const first = await post(e, [alert('Resolve')]);
    await finalRun(e, first.runs[0] as string);
    const deferred = await post(e, [alert('Resolve', '2026-11-26T17:00:00Z')]);
    const resolved = await post(e, [{ ...alert('Resolve', '2026-11-26T17:00:00Z'), status: 'resolved' as const }]);
    expect(resolved.runs).toHaveLength(0);
    expect(resolved.decisions[0]).toMatchObject({ decision: 'skip', reason: 'resolved', runId: deferred.runs[0] });
    expect(await finalRun(e, deferred.runs[0] as string)).toMatchObject({ state: 'canceled', reason: 'resolved' });
  });

  it('keeps the previous runbooks in force when a reload fails, and says so in the metrics', async () => {
    const e = await start({ 'a.yaml': runbook('Reload', '', '      - name: ok\n        run: ["true"]') });
    writeFileSync(path.join(e.dir, 'runbooks', 'b.yaml'), 'name: broken\nfaultClass: test\nbogus: 1\n');
    const res = await e.api('POST', '/-/reload');
    expect(res.status).toBe(422);
    expect(res.text).toContain('b.yaml:3:1');
    const metrics = (await e.api('GET', '/metrics')).text;
    expect(metrics).toMatch(/^remediator_runbook_reload_success 0$/m);
    expect(metrics).toMatch(/^remediator_runbook_reloads_total\{result="failure"\} 1$/m);
    const out = await post(e, [alert('Reload')]);
    expect(out.runs).toHaveLength(1);
  });

  it('pages through runs newest first with filters', async () => {
    const e = await start({ 'a.yaml': runbook('Page', '', '      - name: ok\n        run: ["true"]', 'safety: { cooldown: 0s, maxAttempts: { count: 100, per: 1h } }') });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const out = await post(e, [{ labels: { alertname: 'Page', instance: `host-${i}` }, fingerprint: `00000000000000a${i}` }]);
      ids.push(out.runs[0] as string);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page = (await e.api('GET', `/api/v1/runs?runbook=page&limit=2${q}`)).json as { runs: { id: string }[]; nextCursor: string | null };
      seen.push(...page.runs.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([...ids].reverse());
    const one = (await e.api('GET', '/api/v1/runs?target=host-3')).json as { runs: { id: string }[] };
    expect(one.runs.map((r) => r.id)).toEqual([ids[3]]);
    expect((await e.api('GET', '/api/v1/runs?limit=501')).status).toBe(400);
    expect((await e.api('GET', '/api/v1/runs?since=yesterday')).status).toBe(400);
  });
});
