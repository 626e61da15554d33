/**
 * The overview against the whole service in-process: runs made through the webhook with steps that are /bin/true and
 * /bin/false, then every figure on the page compared with what this test computes itself from GET /api/v1/runs for
 * the same window.
 */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, startInProcess, TOKEN, webhookBody, type InProcess } from '../acceptance/in-process.js';

const SAFETY = 'safety: { cooldown: 0s, maxAttempts: { count: 100, per: 1h }, fleetBreaker: { maxTargets: 100, per: 1m } }';

function runbook(name: string, faultClass: string, tiers: string[], extra = ''): string {
  return `name: ${name}
faultClass: ${faultClass}
description: ${name} for the overview
match:
  - alertname = "${name}"
params:
  host: { from: labels.instance, pattern: '[a-z0-9.-]{1,64}' }
target: "{{ params.host }}"
${SAFETY}
${extra}
tiers:
${tiers.map((program, i) => `  - name: t${i + 1}\n    steps:\n      - name: s${i + 1}\n        run: ["${program}"]`).join('\n')}
`;
}

interface Summary {
  id: string;
  state: string;
  reason: string | null;
  faultClass: string;
  target: string;
  startsAt: string;
  createdAt: string;
  endedAt: string | null;
}

let env: InProcess;

async function page(path: string): Promise<{ status: number; text: string; csp: string | null }> {
  const res = await fetch(env.url + path, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, text: await res.text(), csp: res.headers.get('content-security-policy') };
}

/** Every run of the window, as the API lists them (page by page). */
async function apiRuns(query: string): Promise<Summary[]> {
  const out: Summary[] = [];
  let cursor: string | null = null;
  do {
    const res = await env.api('GET', `/api/v1/runs?${query}&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(res.status).toBe(200);
    const body = res.json as { runs: Summary[]; nextCursor: string | null };
    out.push(...body.runs);
    cursor = body.nextCursor;
  } while (cursor !== null);
  return out;
}

const nearestRank = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : (sorted[Math.ceil((p / 100) * sorted.length) - 1] as number);
};

const attr = (text: string, name: string): string | undefined => new RegExp(`${name}="([^"]*)"`).exec(text)?.[1];

/** The page's rows of one kind: each element's opening tag up to the next one. */
function rows(text: string, marker: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = text.split(`<tr ${marker}="`).slice(1);
  for (const part of parts) {
    const key = part.slice(0, part.indexOf('"'));
    out.set(key, part.slice(0, part.indexOf('</tr>')));
  }
  return out;
}

async function fire(alerts: Array<{ name: string; instance: string; agoSeconds: number }>): Promise<void> {
  const body = webhookBody(
    alerts.map((a, i) => ({
      labels: { alertname: a.name, instance: a.instance },
      startsAt: new Date(Date.now() - a.agoSeconds * 1000).toISOString(),
      fingerprint: `${(i + 1).toString(16).padStart(4, '0')}${a.name.length.toString(16).padStart(4, '0')}aaaaaaaa`,
    })),
  );
  const res = await env.api('POST', '/api/v1/alerts', body);
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  env = await startInProcess({
    'ok.yaml': runbook('ov-ok', 'oom', ['/bin/true']),
    'fail.yaml': runbook('ov-fail', 'hung', ['/bin/false']),
    'ladder.yaml': runbook('ov-ladder', 'down', ['/bin/false', '/bin/true']),
    'shadow.yaml': runbook('ov-shadow', 'oom', ['/bin/true'], 'mode: shadow'),
    'gated.yaml': runbook('ov-gated', 'hung', ['/bin/true']).replace('  - name: t1\n', '  - name: t1\n    approval: required\n    approvalTimeout: 10m\n'),
  });
  await fire([
    { name: 'ov-ok', instance: 'node-a', agoSeconds: 30 },
    { name: 'ov-ok', instance: 'node-b', agoSeconds: 90 },
    { name: 'ov-ok', instance: 'node-c', agoSeconds: 300 },
    { name: 'ov-fail', instance: 'node-d', agoSeconds: 10 },
    { name: 'ov-fail', instance: 'node-e', agoSeconds: 20 },
    { name: 'ov-ladder', instance: 'node-f', agoSeconds: 45 },
    { name: 'ov-ladder', instance: 'node-g', agoSeconds: 600 },
    { name: 'ov-shadow', instance: 'node-h', agoSeconds: 5 },
  ]);
  // Later episodes on targets that already had a run, so that some targets are busier than others: after those runs
  // ended, so that node-a's second ov-ok episode is a run, not already_running.
  await eventually(async () => {
    const runs = await apiRuns('state=pending');
    const running = await apiRuns('state=running');
    return runs.length + running.length === 0 ? true : undefined;
  }, 30_000, 'the first runs to end');
  await fire([
    { name: 'ov-ok', instance: 'node-a', agoSeconds: 3 },
    { name: 'ov-fail', instance: 'node-a', agoSeconds: 2 },
    { name: 'ov-ladder', instance: 'node-d', agoSeconds: 1 },
  ]);
  await eventually(async () => {
    const runs = await apiRuns('state=pending');
    const running = await apiRuns('state=running');
    return runs.length + running.length === 0 ? true : undefined;
  }, 30_000, 'every ungated run to end');
  await fire([{ name: 'ov-gated', instance: 'node-z', agoSeconds: 60 }]);
  await eventually(async () => ((await apiRuns('state=awaiting_approval')).length === 1 ? true : undefined), 20_000, 'the gated run to wait');
}, 90_000);

afterAll(async () => {
  await env?.close();
});

describe('the overview', () => {
  it.each(['1h', '24h', '7d'])('shows, for window=%s, exactly the figures computed from GET /api/v1/runs for the same window', async (window) => {
    const res = await page(`/?window=${window}`);
    expect(res.status).toBe(200);
    const since = attr(res.text, 'data-since') as string;
    const until = attr(res.text, 'data-until') as string;
    expect(Date.parse(until) - Date.parse(since)).toBe({ '1h': 3_600_000, '24h': 86_400_000, '7d': 604_800_000 }[window]);
    const runs = await apiRuns(`since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`);
    expect(runs).toHaveLength(12);
    expect(attr(res.text, 'data-total')).toBe(String(runs.length));

    // Runs by fault class and state: every cell, and no class the API does not have.
    const classes = rows(res.text, 'data-fault-class');
    expect([...classes.keys()].sort()).toEqual([...new Set(runs.map((r) => r.faultClass))].sort());
    for (const [faultClass, row] of classes) {
      const ofClass = runs.filter((r) => r.faultClass === faultClass);
      for (const m of row.matchAll(/data-state="([a-z_]+)" data-count="(\d+)"/g)) {
        expect([faultClass, m[1], Number(m[2])]).toEqual([faultClass, m[1], ofClass.filter((r) => r.state === m[1]).length]);
      }
      const shown = [...row.matchAll(/data-count="(\d+)"/g)].reduce((a, m) => a + Number(m[1]), 0);
      expect(shown).toBe(ofClass.length);
    }

    // Escalations: failed, interrupted or stale over ended runs without shadow ones.
    const escalated = runs.filter((r) => r.state === 'failed' || r.state === 'interrupted' || (r.state === 'skipped' && r.reason === 'stale'));
    const ended = runs.filter((r) => !['pending', 'running', 'awaiting_approval', 'shadow'].includes(r.state));
    expect([escalated.length, ended.length]).toEqual([3, 10]);
    expect(res.text).toContain(`data-escalated="${escalated.length}" data-ended="${ended.length}"><div class="big">30.0%</div>`);

    // Recovery: startsAt to endedAt of succeeded runs, nearest-rank p50 and p90 per class.
    const recovery = rows(res.text, 'data-recovery');
    const succeeded = runs.filter((r) => r.state === 'succeeded');
    expect([...recovery.keys()].sort()).toEqual([...new Set(succeeded.map((r) => r.faultClass))].sort());
    for (const [faultClass, row] of recovery) {
      const times = succeeded.filter((r) => r.faultClass === faultClass).map((r) => Date.parse(r.endedAt as string) - Date.parse(r.startsAt));
      expect([faultClass, attr(row, 'data-n'), attr(row, 'data-p50-ms'), attr(row, 'data-p90-ms')]).toEqual([
        faultClass,
        String(times.length),
        String(nearestRank(times, 50)),
        String(nearestRank(times, 90)),
      ]);
    }
    expect(Number(attr(recovery.get('down') ?? '', 'data-p90-ms'))).toBeGreaterThanOrEqual(600_000);

    // Busiest targets: counts per target, the busiest first.
    const targets = [...rows(res.text, 'data-target').entries()].map(([t, row]) => [t, Number(attr(row, 'data-runs')), Number(attr(row, 'data-escalated'))]);
    const counted = [...new Set(runs.map((r) => r.target))].map((t) => [t, runs.filter((r) => r.target === t).length, escalated.filter((r) => r.target === t).length]);
    expect(targets.slice(0, 2)).toEqual([['node-a', 3, 1], ['node-d', 2, 1]]);
    expect([...targets].sort()).toEqual([...counted].sort().slice(0, 10));

    // Active now, whatever the window.
    const waiting = await apiRuns('state=awaiting_approval');
    expect(res.text).toContain(`data-active-state="awaiting_approval" data-count="${waiting.length}"`);
    expect(res.text).toContain(`href="/runs/${waiting[0]?.id}"`);
  });

  it('links each count to the run list filtered the same way, which lists exactly those runs', async () => {
    const res = await page('/');
    const href = /href="(\/runs\?faultClass=hung&amp;state=failed&amp;since=[^"]+)">(\d+)<\/a>/.exec(res.text);
    expect(href).not.toBeNull();
    const list = await page((href?.[1] as string).replaceAll('&amp;', '&'));
    expect(list.status).toBe(200);
    expect((list.text.match(/<tr>\n<td><a href="\/runs\//g) ?? []).length).toBe(Number(href?.[2]));
    expect(list.text).not.toContain('s-succeeded">succeeded');
  });

  it('refuses a window it does not offer', async () => {
    expect((await page('/?window=2h')).status).toBe(400);
  });

  it('is live (its refresh script allowed by hash) while a run is active, and strict again once none is', async () => {
    const live = await page('/');
    expect(live.csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'; connect-src 'self'/);
    expect(live.text).toContain('<main data-live="5000">');
    expect(live.text).toContain('<script>');
    const [waiting] = await apiRuns('state=awaiting_approval');
    expect((await env.api('POST', `/api/v1/runs/${waiting?.id}/cancel`)).status).toBe(202);
    const still = await page('/');
    expect(still.csp).toBe("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
    expect(still.text).not.toContain('<script');
    expect(still.text).toContain('<main>');
  });
});
