/**
 * The console in a real Chromium against the real service (verifications in a real Prometheus): the overview, the run
 * list and its filters, a two-tier run's timeline, and hostile alert data and step output shown as text with no
 * script run. The screenshots the README shows are taken here.
 */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BrowserContext, Page } from 'playwright-core';
import { stopAll } from '../support/child.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { HOSTILE_IMG, HOSTILE_SCRIPT, OPERATOR, READER, runbookYaml, screenshot, startConsole, type Console } from './console-service.js';

const LADDER = runbookYaml(
  'tl-ladder',
  'oom',
  `  - name: restart
    steps:
      - name: evidence
        run: [bash, -c, 'printf "%s\\n" "$1"; printf "%s\\n" "$2" >&2', evidence, '${HOSTILE_IMG}', '${HOSTILE_SCRIPT}']
      - name: settle
        wait: 1s
      - name: probe
        script: |
          f="/tmp/remediator-probe-$RUN_ID"
          if [ -e "$f" ]; then rm -f "$f"; exit 0; fi
          touch "$f"; exit 1
        until: { every: 500ms, within: 10s }
    verify: { promql: 'vector(0) == 1', every: 500ms, within: 2s, stableFor: 500ms }
    onFailure:
      - name: undo
        run: ["/bin/true"]
  - name: rollback
    steps:
      - name: pin
        run: ["/bin/true"]
    verify: { promql: 'vector(1) == 1', every: 500ms, within: 10s, stableFor: 1s }
`,
);
const step = (program: string): string => `  - name: only\n    steps:\n      - name: go\n        run: ["${program}"]\n`;

let prometheus: PrometheusHandle;
let c: Console;
let reader: BrowserContext;
let ladderId = '';
const ids: string[] = [];

beforeAll(async () => {
  prometheus = await startPrometheus({});
  c = await startConsole(
    { 'ladder.yaml': LADDER, 'ok.yaml': runbookYaml('pg-ok', 'down', step('/bin/true')), 'fail.yaml': runbookYaml('pg-fail', 'hung', step('/bin/false')) },
    [`prometheus: { url: "${prometheus.url}" }`],
  );
  ladderId = await c.fire('tl-ladder', 'node-ladder', { labels: { evil: HOSTILE_IMG }, annotations: { summary: HOSTILE_SCRIPT }, agoSeconds: 5 });
  for (const [name, host] of [['pg-ok', 'node-a'], ['pg-ok', 'node-b'], ['pg-fail', 'node-a'], ['pg-fail', 'node-c']] as const) ids.push(await c.fire(name, host));
  for (const id of [ladderId, ...ids]) await c.until(id, ['succeeded', 'failed'], 40_000);
  reader = await c.as(READER);
}, 90_000);

afterAll(async () => {
  await c?.close();
  await prometheus?.stop();
  await stopAll();
});

/** Opens a page, collecting console errors, page errors and every URL it requested. */
async function open(urlPath: string, context = reader): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  const res = await page.goto(c.url + urlPath);
  expect(res?.status()).toBe(200);
  return { page, errors, requests };
}

describe('the overview in a browser', () => {
  it('shows runs by fault class, recovery times and the busiest targets as charts that link to the filtered run list', async () => {
    const { page, errors } = await open('/');
    await expect(page.locator('h1').textContent()).resolves.toBe('Overview');
    expect(await page.locator('svg.chart').count()).toBe(3);
    expect(await page.locator('tr[data-fault-class]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-fault-class')).sort())).toEqual(['down', 'hung', 'oom']);
    expect(await page.locator('.card[data-total]').getAttribute('data-total')).toBe('5');
    expect(await page.locator('tr[data-target]').first().getAttribute('data-target')).toBe('node-a');
    await screenshot(page, 'overview');
    await page.locator('tr[data-fault-class="hung"] td[data-state="failed"] a').click();
    await page.waitForURL(/\/runs\?faultClass=hung&state=failed&since=/);
    expect(await page.locator('table.runs tbody tr').count()).toBe(2);
    await page.goto(`${c.url}/`);
    await page.getByRole('link', { name: '1h', exact: true }).click();
    await page.waitForURL(/\/\?window=1h$/);
    expect(await page.locator('nav.windows a.current').textContent()).toBe('1h');
    expect(errors).toEqual([]);
  });
});

describe('the run list in a browser', () => {
  it('filters by state and target through its form', async () => {
    const { page } = await open('/runs');
    expect(await page.locator('table.runs tbody tr').count()).toBe(5);
    await screenshot(page, 'runs');
    await page.selectOption('form.filters select[name="state"]', 'failed');
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/state=failed/);
    expect(await page.locator('table.runs tbody tr .state').allTextContents()).toEqual(['failed', 'failed']);
    await page.fill('form.filters input[name="target"]', 'node-c');
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/target=node-c/);
    expect(await page.locator('table.runs tbody tr td:nth-child(5)').allTextContents()).toEqual(['node-c']);
    expect(await page.locator('form.filters input[name="target"]').inputValue()).toBe('node-c');
  });
});

describe('a run page with its timeline', () => {
  it('draws both tiers and every step as bars in time order with their outcomes, and the checks as marks', async () => {
    const { page, errors } = await open(`/runs/${ladderId}`);
    const rows = await page.locator('svg.tl g.tl-row').evaluateAll((gs) =>
      gs.map((g) => ({
        kind: g.getAttribute('data-kind'),
        name: g.getAttribute('data-name'),
        state: g.getAttribute('data-state'),
        start: Date.parse(g.getAttribute('data-start') ?? ''),
        x: Number(g.querySelector('rect')?.getAttribute('x')),
        shown: g.querySelector('text.tl-state')?.textContent,
        held: g.querySelectorAll('circle.c-held').length,
        notHeld: g.querySelectorAll('circle.c-not_held').length,
      })),
    );
    expect(rows.map((r) => [r.kind, r.name, r.state])).toEqual([
      ['tier', 'tier 1: restart', 'failed'],
      ['step', 'evidence', 'succeeded'],
      ['step', 'settle', 'succeeded'],
      ['step', 'probe', 'succeeded'],
      ['verify', 'verify (promql)', 'timed_out'],
      ['step', 'undo (onFailure)', 'succeeded'],
      ['tier', 'tier 2: rollback', 'succeeded'],
      ['step', 'pin', 'succeeded'],
      ['verify', 'verify (promql)', 'verified'],
    ]);
    expect(rows.map((r) => r.shown)).toEqual(rows.map((r) => r.state));
    for (let i = 1; i < rows.length; i++) {
      expect((rows[i]?.start ?? 0) >= (rows[i - 1]?.start ?? 0)).toBe(true);
      expect((rows[i]?.x ?? 0) >= (rows[i - 1]?.x ?? 0)).toBe(true);
    }
    expect(await page.locator('svg.tl g.tl-row[data-name="probe"] text.tl-note').textContent()).toContain('2 attempts · until: every 500ms within 10s');
    const [failedVerify, verified] = [rows[4], rows[8]];
    expect(failedVerify?.notHeld).toBeGreaterThanOrEqual(3);
    expect(failedVerify?.held).toBe(0);
    expect(verified?.held).toBeGreaterThanOrEqual(2);
    const marks = await page.locator('svg.tl g.tl-mark').evaluateAll((gs) => gs.map((g) => [g.getAttribute('data-kind'), g.querySelector('text')?.textContent]));
    expect(marks).toEqual(expect.arrayContaining([['alert', 'alert started'], ['ended', 'run ended: succeeded (verified)']]));
    await screenshot(page, 'run-timeline', 'figure.timeline');
    expect(errors).toEqual([]);
  });

  it('shows hostile labels and step output as text, and no script of theirs runs', async () => {
    for (const context of [reader, await c.as(OPERATOR)]) {
      const { page, errors, requests } = await open(`/runs/${ladderId}`, context);
      const main = (await page.locator('main').textContent()) ?? '';
      expect(main).toContain(HOSTILE_IMG);
      expect(main).toContain(HOSTILE_SCRIPT);
      expect(await page.locator('pre.stdout').first().textContent()).toBe(`${HOSTILE_IMG}\n`);
      expect(await page.locator('pre.stderr').first().textContent()).toBe(`${HOSTILE_SCRIPT}\n`);
      expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.locator('script').count()).toBe(0);
      expect(requests.filter((u) => new URL(u).pathname === '/x')).toEqual([]);
      expect(errors).toEqual([]);
    }
  });
});
