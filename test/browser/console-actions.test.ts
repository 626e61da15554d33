/**
 * The console's forms and live refresh in a real Chromium against the real service: approve and cancel with the
 * operate role and refused without it, a form posted from another origin refused, and a running run's page that
 * follows it to its end without a reload and then stops refreshing.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BrowserContext, Page } from 'playwright-core';
import { GATED_RUNBOOK } from '../support/gated-runbook.js';
import { OPERATOR, READER, runbookYaml, screenshot, startConsole, type Console } from './console-service.js';

const SLEEPER = runbookYaml('live-sleep', 'hung', '  - name: only\n    steps:\n      - name: nap\n        run: ["/bin/sleep", "4"]\n');

let c: Console;
let bob: BrowserContext;
let alice: BrowserContext;
let attacker: http.Server | null = null;

beforeAll(async () => {
  c = await startConsole({ 'gated.yaml': GATED_RUNBOOK, 'sleep.yaml': SLEEPER });
  [bob, alice] = await Promise.all([c.as(OPERATOR), c.as(READER)]);
}, 60_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (attacker ? attacker.close(() => resolve()) : resolve()));
  await c?.close();
});

async function waiting(host: string): Promise<string> {
  const id = await c.fire('Gated', host);
  await c.until(id, ['awaiting_approval'], 20_000);
  return id;
}

/** The run page's state, as its header shows it. */
const shownState = (page: Page): Promise<string | null> => page.locator('main dl .state').first().textContent();

/** Clicks a form's button and answers the status of the POST it sends. */
async function submit(page: Page, button: string): Promise<number> {
  const [res] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click(button)]);
  return res.status();
}

describe('the approve and cancel forms', () => {
  it('approve with the operate role: the approver is recorded and the page shows the run go on', async () => {
    const id = await waiting('node-approve');
    const page = await bob.newPage();
    await page.goto(`${c.url}/runs/${id}`);
    expect(await page.locator('svg.tl g.tl-row[data-kind="approval"]').getAttribute('data-state')).toBe('awaiting approval');
    await page.fill('form[action$="/approve"] input[name="note"]', 'dashboards checked');
    await screenshot(page, 'approve', 'figure.timeline');
    expect(await submit(page, 'form[action$="/approve"] button')).toBe(303);
    await page.locator('main dl .state', { hasText: /^succeeded$/ }).first().waitFor({ timeout: 20_000 });
    expect((await c.run(id)).approvedBy).toBe('bob (note: dashboards checked)');
    expect(await page.locator('svg.tl g.tl-row[data-kind="approval"]').getAttribute('data-state')).toBe('approved');
  });

  it('refuses approve and cancel from a reader, and the run keeps waiting', async () => {
    const id = await waiting('node-reader');
    const page = await alice.newPage();
    for (const action of ['approve', 'cancel']) {
      await page.goto(`${c.url}/runs/${id}`);
      expect(await submit(page, `form[action$="/${action}"] button`)).toBe(401);
      expect(await page.locator('h1').textContent()).toBe('Credentials needed');
      expect((await c.run(id)).state).toBe('awaiting_approval');
    }
  });

  it('refuses a form posted from another origin, even with the page\'s own token; the same form sent from the run page cancels', async () => {
    const id = await waiting('node-foreign');
    const page = await bob.newPage();
    await page.goto(`${c.url}/runs/${id}`);
    const token = await page.locator('form[action$="/cancel"] input[name="token"]').getAttribute('value');
    attacker = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><form method="post" action="${c.url}/runs/${id}/cancel"><input type="hidden" name="token" value="${token}"><button>win a prize</button></form>`);
    });
    await new Promise<void>((resolve) => attacker?.listen(0, '127.0.0.1', resolve));
    const foreign = await bob.newPage();
    await foreign.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
    expect(await submit(foreign, 'button')).toBe(403);
    expect((await c.run(id)).state).toBe('awaiting_approval');
    await page.reload();
    expect(await submit(page, 'form[action$="/cancel"] button')).toBe(303);
    await page.waitForURL(`${c.url}/runs/${id}`);
    expect(await shownState(page)).toBe('canceled');
    expect((await c.run(id)).state).toBe('canceled');
  });
});

describe('live refresh', () => {
  it('follows a running run to succeeded without a reload, then stops refreshing', async () => {
    const id = await c.fire('live-sleep', 'node-live');
    const page = await bob.newPage();
    const list = await bob.newPage();
    const fetches: string[] = [];
    page.on('request', (r) => {
      if (r.resourceType() === 'fetch') fetches.push(r.url());
    });
    await page.goto(`${c.url}/runs/${id}`);
    await list.goto(`${c.url}/runs?runbook=live-sleep`);
    expect(await page.locator('main').getAttribute('data-live')).not.toBeNull();
    expect(await list.locator('main').getAttribute('data-live')).not.toBeNull();
    await page.evaluate(() => {
      (globalThis as unknown as { __sameDocument: number }).__sameDocument = 42;
    });
    const seen: string[] = [];
    let shot = false;
    for (let i = 0; i < 200 && seen.at(-1) !== 'succeeded'; i++) {
      const state = await shownState(page);
      if (state !== null && seen.at(-1) !== state) seen.push(state);
      // Once the page has refreshed itself at least once while the run still runs: what the README shows.
      if (state === 'running' && fetches.length >= 1 && !shot) {
        await screenshot(page, 'run-live', 'figure.timeline');
        shot = true;
      }
      await page.waitForTimeout(100);
    }
    expect(seen).toEqual(expect.arrayContaining(['running', 'succeeded']));
    expect(seen.at(-1)).toBe('succeeded');
    expect(shot).toBe(true);
    expect(await page.evaluate(() => (globalThis as unknown as { __sameDocument?: number }).__sameDocument)).toBe(42);
    expect(fetches.length).toBeGreaterThanOrEqual(1);
    expect(fetches.every((u) => u === `${c.url}/runs/${id}`)).toBe(true);
    expect(await page.locator('html').getAttribute('data-live')).toBe('stopped');
    expect(await page.locator('main').getAttribute('data-live')).toBeNull();
    expect(await page.locator('svg.tl g.tl-row[data-name="nap"]').getAttribute('data-state')).toBe('succeeded');
    const stoppedAt = fetches.length;
    await page.waitForTimeout(5000);
    expect(fetches.length).toBe(stoppedAt);
    await list.locator('html[data-live="stopped"]').waitFor({ state: 'attached', timeout: 15_000 });
    expect(await list.locator('table.runs tbody tr').first().locator('.state').textContent()).toBe('succeeded');
  });
});
