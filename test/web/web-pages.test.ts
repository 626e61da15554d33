/** The SRE pages against the whole service in-process: runs made through the webhook, then read as a browser would. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, startInProcess, TOKEN, webhookBody, type InProcess } from '../acceptance/in-process.js';

const runbook = (name: string, alertname: string, step: string, verify = ''): string => `name: ${name}
faultClass: oom
description: ${name} for the web pages
match:
  - alertname = "${alertname}"
params:
  host: { from: labels.instance, transform: host, pattern: '[a-z0-9.-]{1,64}' }
target: "{{ params.host }}"
tiers:
  - name: only
    steps:
      - name: say
        run: ${step}
${verify}`;

const SCRIPT = '<script>alert(1)</script>';
const IMG = '"><img src=x onerror=alert(1)>';

const VERIFY = `    verify: { promql: 'up{instance="{{ labels.instance }}"} == 1', every: 1s, within: 3s, stableFor: 1s }\n`;

let env: InProcess;
const ids: Record<string, string> = {};
let sayState = '';

async function page(path: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(env.url + path, { headers, redirect: 'manual' });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function fire(alertname: string, instance: string, extra: Record<string, string> = {}, generatorURL?: string): Promise<string | undefined> {
  const body = webhookBody([{ labels: { alertname, instance, ...extra }, annotations: { summary: `${SCRIPT} on ${instance}` }, fingerprint: `f${instance.length}0000000000000`.slice(0, 16) }]);
  if (generatorURL !== undefined) (body.alerts as Record<string, unknown>[])[0]!.generatorURL = generatorURL;
  const res = await env.api('POST', '/api/v1/alerts', body);
  expect(res.status).toBe(200);
  return (res.json as { runs: string[] }).runs[0];
}

async function ended(id: string): Promise<string> {
  const run = await eventually(async () => {
    const r = (await env.api('GET', `/api/v1/runs/${id}`)).json as { state: string };
    return ['pending', 'running'].includes(r.state) ? undefined : r;
  }, 20_000, `run ${id} to end`);
  return run.state;
}

beforeAll(async () => {
  env = await startInProcess({
    'a.yaml': runbook('web-say', 'WebSay', `[bash, -c, 'echo hello-from-step; echo warn-from-step >&2']`, VERIFY),
    'b.yaml': runbook('web-other', 'WebOther', '["true"]'),
  });
  ids.say = (await fire('WebSay', 'node-a', { evil: SCRIPT, evil2: IMG }, 'javascript:alert(1)')) as string;
  ids.other = (await fire('WebOther', 'node-b', {}, 'https://prometheus.example/graph?g0.expr=up&x="y"')) as string;
  await fire(`Web${IMG}`, 'node-c');
  sayState = await ended(ids.say);
  await ended(ids.other);
}, 60_000);

afterAll(async () => {
  await env?.close();
});

describe('every page', () => {
  it.each(['/', '/runs', '/decisions', '/runbooks', '/runbooks/web-say'])('%s carries the security headers and is HTML', async (path) => {
    const res = await page(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    expect(res.text).not.toMatch(/<script|<img|<iframe|<[a-z][^>]*\son\w+=/i);
  });

  it.each(['/', '/runs', '/decisions', '/runbooks', '/runbooks/web-say', '/runs/whatever'])('%s needs the read role and offers a Bearer challenge', async (path) => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token' }] as Record<string, string>[]) {
      const res = await page(path, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="remediator"');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(res.text).not.toContain('hello-from-step');
    }
  });

  it('shows the overview at /, linking to the run list', async () => {
    const res = await page('/');
    expect(res.status).toBe(200);
    expect(res.text).toContain('<h1>Overview</h1>');
    expect(res.text).toMatch(/href="\/runs\?since=[^"]+&amp;until=[^"]+">2<\/a><\/div>runs in the window/);
  });

  it.each(['/runs/no-such-run', '/runbooks/no-such-runbook', `/runs/${encodeURIComponent(SCRIPT)}`, `/runbooks/${encodeURIComponent(IMG)}`])('answers an HTML 404 for %s', async (path) => {
    const res = await page(path);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.text).toContain('Not found');
    expect(res.text).not.toMatch(/<script|<img/);
  });

  it.each(['/runs?state=nope', '/runs?since=yesterday', '/runs?limit=501', '/runs?runbook=a&runbook=b', '/decisions?decision=maybe'])(
    'answers an HTML 400 for %s',
    async (path) => {
      const res = await page(path);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    },
  );
});

describe('the run list', () => {
  it('shows every run newest first, each linking to its page', async () => {
    const res = await page('/runs');
    expect(res.text).toContain(`href="/runs/${ids.say}"`);
    expect(res.text).toContain(`href="/runs/${ids.other}"`);
    expect(res.text.indexOf(`/runs/${ids.other}"`)).toBeLessThan(res.text.indexOf(`/runs/${ids.say}"`));
    expect(res.text).toContain('web-say');
    expect(res.text).toContain('node-a');
  });

  it.each([
    ['runbook=web-other', 'other', 'say'],
    ['target=node-a', 'say', 'other'],
    ['alertname=WebSay', 'say', 'other'],
    ['state=STATE&faultClass=oom&since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z', 'say', 'other'],
  ])('filters with %s as the API does', async (query, shown, hidden) => {
    const res = await page(`/runs?${query.replace('STATE', sayState)}&fingerprint=&pool=`);
    expect(res.status).toBe(200);
    expect(res.text).toContain(`/runs/${ids[shown]}"`);
    expect(res.text).not.toContain(`/runs/${ids[hidden]}"`);
  });

  it('pages with limit and the older link, which keeps the filters', async () => {
    const first = await page('/runs?limit=1&faultClass=oom');
    expect(first.text).toContain(`/runs/${ids.other}"`);
    expect(first.text).not.toContain(`/runs/${ids.say}"`);
    const older = /href="(\/runs\?[^"]*cursor=[^"]*)"/.exec(first.text)?.[1]?.replaceAll('&amp;', '&');
    expect(older).toContain('faultClass=oom');
    expect(older).toContain('limit=1');
    const second = await page(older as string);
    expect(second.text).toContain(`/runs/${ids.say}"`);
    expect(second.text).not.toContain(`/runs/${ids.other}"`);
    expect(second.text).toContain('No older entries.');
  });
});

describe('the run page', () => {
  it('shows the run, its step, argv, stdout and stderr, and the verification', async () => {
    const res = await page(`/runs/${ids.say}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<code>bash</code> <code>-c</code>');
    expect(res.text).toMatch(/<pre class="stdout">hello-from-step\n<\/pre>/);
    expect(res.text).toMatch(/<pre class="stderr">warn-from-step\n<\/pre>/);
    expect(res.text).toContain('Tier 1: only');
    expect(res.text).toContain('prometheus.url is not configured');
    expect(res.text).toContain('href="/runbooks/web-say"');
    expect(res.text).not.toContain('<form method="post"');
  });

  it('escapes hostile labels and annotations and never links a javascript: generatorURL', async () => {
    const res = await page(`/runs/${ids.say}`);
    expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(res.text).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(res.text).not.toContain(SCRIPT);
    expect(res.text).not.toContain(IMG);
    expect(res.text).not.toMatch(/href="javascript:/i);
    expect(res.text).toContain('<code>javascript:alert(1)</code>');
  });

  it('links an http(s) generatorURL, its quotes escaped', async () => {
    const res = await page(`/runs/${ids.other}`);
    expect(res.text).toContain('<a href="https://prometheus.example/graph?g0.expr=up&amp;x=%22y%22" rel="noopener noreferrer">');
  });
});

describe('the decisions page', () => {
  it('lists decisions with links to their runs and shows a hostile alertname escaped', async () => {
    const res = await page('/decisions');
    expect(res.text).toContain(`href="/runs/${ids.say}"`);
    expect(res.text).toContain('no_match');
    expect(res.text).toContain('Web&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(res.text).not.toContain(IMG);
  });

  it.each([
    ['reason=no_match', '<td>no_match</td>', 'RUN'],
    ['decision=run&runbook=web-say', 'RUN', '<td>no_match</td>'],
  ])('filters with %s', async (query, shown, hidden) => {
    const res = await page(`/decisions?${query}&alertname=&fingerprint=`);
    const fill = (text: string): string => text.replace('RUN', `href="/runs/${ids.say}"`);
    expect(res.status).toBe(200);
    expect(res.text).toContain(fill(shown));
    expect(res.text).not.toContain(fill(hidden));
  });

  it('pages with limit and the older link', async () => {
    const first = await page('/decisions?limit=2');
    const older = /href="(\/decisions\?[^"]*cursor=[^"]*)"/.exec(first.text)?.[1]?.replaceAll('&amp;', '&');
    expect(older).toContain('limit=2');
    const second = await page(older as string);
    expect(second.status).toBe(200);
    expect(second.text).toContain('No older entries.');
    expect((second.text.match(/<tr>\n<td><time/g) ?? []).length).toBe(1);
  });
});

describe('the runbook pages', () => {
  it('list the loaded runbooks with their file, hash, pause and breaker state, and the last reload', async () => {
    await env.api('POST', '/api/v1/runbooks/web-other/pause');
    const res = await page('/runbooks');
    expect(res.text).toContain('href="/runbooks/web-say"');
    expect(res.text).toMatch(/web-other.*?<span class="state s-failed">paused<\/span>/s);
    expect(res.text).toContain('a.yaml');
    expect(res.text).toMatch(/Last reload .*succeeded/);
    await env.api('POST', '/api/v1/runbooks/web-other/resume');
  });

  it('shows a runbook as written: matchers, params, steps and verify as source text, and its recent runs', async () => {
    const res = await page('/runbooks/web-say');
    expect(res.text).toContain('<code>alertname = &quot;WebSay&quot;</code>');
    expect(res.text).toContain('<code>[a-z0-9.-]{1,64}</code>');
    expect(res.text).toContain('<code>{{ params.host }}</code>');
    expect(res.text).toContain('<code>up{instance=&quot;{{ labels.instance }}&quot;} == 1</code>');
    expect(res.text).toContain('<code>echo hello-from-step; echo warn-from-step &gt;&amp;2</code>');
    expect(res.text).toContain(`href="/runs/${ids.say}"`);
    expect(res.text).not.toContain(`href="/runs/${ids.other}"`);
  });
});
