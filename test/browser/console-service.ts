/**
 * What the console's browser tests share: the whole service in-process on a loopback port with basic auth as a
 * browser uses it (alice may read, bob may operate), runbooks whose steps are real commands, a real Chromium, and
 * where screenshots go.
 */

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { parseConfigText, resolveConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { buildService, type Service } from '../../src/service.js';
import { eventually, TOKEN, webhookBody } from '../acceptance/in-process.js';
import { freePort } from '../support/free-port.js';
import { REPO_ROOT } from '../support/service.js';

export const READER = { username: 'alice', password: 'alice-read-pw' };
export const OPERATOR = { username: 'bob', password: 'bob-operate-pw' };
/** Where the tests leave the screenshots the README shows. */
export const SCREENSHOTS = path.join(REPO_ROOT, 'docs', 'screenshots');
/** Hostile alert data: rendered anywhere as markup, each would run a script or load an image. */
export const HOSTILE_IMG = '<img src=x onerror=window.__pwned=1>';
export const HOSTILE_SCRIPT = '</script><script>window.__pwned=1</script>';

export interface Console {
  readonly url: string;
  readonly browser: Browser;
  /** A fresh browser context signed in as `who`. */
  as(who: typeof READER): Promise<BrowserContext>;
  /** Posts one alert to the webhook; returns the run it made. */
  fire(alertname: string, instance: string, extra?: { labels?: Record<string, string>; annotations?: Record<string, string>; agoSeconds?: number }): Promise<string>;
  /** GET /api/v1/runs/{id} as the reader. */
  run(id: string): Promise<{ state: string; reason: string | null; approvedBy: string | null; tiers: unknown[] }>;
  /** Waits until the run is in one of the states. */
  until(id: string, states: readonly string[], timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

let fingerprints = 0;

/** Starts the service with these runbooks (file name -> YAML) and extra config lines, and Chromium. */
export async function startConsole(runbooks: Record<string, string>, extraConfig: readonly string[] = []): Promise<Console> {
  const root = mkdtempSync(path.join(tmpdir(), 'remediator-browser-'));
  mkdirSync(path.join(root, 'runbooks'));
  mkdirSync(SCREENSHOTS, { recursive: true });
  for (const [file, text] of Object.entries(runbooks)) writeFileSync(path.join(root, 'runbooks', file), text);
  for (const [file, secret] of [['token', TOKEN], ['alice', READER.password], ['bob', OPERATOR.password]] as const) writeFileSync(path.join(root, file), secret);
  // A known port, so that publicURL (in the pages' curl lines and links) is where the service really is.
  const port = await freePort();
  const text = [
    `listen: 127.0.0.1:${port}`,
    `publicURL: http://127.0.0.1:${port}`,
    'runbooks: ./runbooks',
    'store: { url: "sqlite:./data/remediator.db" }',
    'auth:',
    '  webhook: { bearerTokenFile: token }',
    `  read: { basic: { username: ${READER.username}, passwordFile: alice } }`,
    `  operate: { basic: { username: ${OPERATOR.username}, passwordFile: bob } }`,
    ...extraConfig,
  ].join('\n');
  const file = path.join(root, 'remediator.yaml');
  writeFileSync(file, text);
  const service: Service = await buildService(resolveConfig(parseConfigText(text, file), file, root), createLogger({ level: 'silent' }), { defaultMetrics: false });
  const server: Server = await new Promise((resolve) => {
    const s = service.app.listen(port, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${port}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const readerAuth = `Basic ${Buffer.from(`${READER.username}:${READER.password}`).toString('base64')}`;
  const run: Console['run'] = async (id) => {
    const res = await fetch(`${url}/api/v1/runs/${id}`, { headers: { authorization: readerAuth } });
    return (await res.json()) as Awaited<ReturnType<Console['run']>>;
  };
  return {
    url,
    browser,
    as: (who) => browser.newContext({ httpCredentials: { ...who, origin: url }, viewport: { width: 1280, height: 900 } }),
    async fire(alertname, instance, extra = {}) {
      fingerprints++;
      const alert = {
        labels: { alertname, instance, ...extra.labels },
        annotations: extra.annotations ?? {},
        startsAt: new Date(Date.now() - (extra.agoSeconds ?? 20) * 1000).toISOString(),
        fingerprint: `b${fingerprints.toString(16).padStart(15, '0')}`,
      };
      const res = await fetch(`${url}/api/v1/alerts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(webhookBody([alert])),
      });
      const body = (await res.json()) as { runs: string[] };
      if (res.status !== 200 || body.runs[0] === undefined) throw new Error(`the webhook made no run for ${alertname}: ${res.status} ${JSON.stringify(body)}`);
      return body.runs[0];
    },
    run,
    async until(id, states, timeoutMs = 30_000) {
      await eventually(async () => (states.includes((await run(id)).state) ? true : undefined), timeoutMs, `run ${id} to be ${states.join(' or ')}`);
    },
    async close() {
      await browser.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await service.stop(2_000);
    },
  };
}

/** Writes docs/screenshots/NAME.png: the whole page, or its top down to the end of the element `upTo`. */
export async function screenshot(page: Page, name: string, upTo?: string): Promise<void> {
  const file = path.join(SCREENSHOTS, `${name}.png`);
  const box = upTo === undefined ? null : await page.locator(upTo).first().boundingBox();
  if (box === null) return void (await page.screenshot({ path: file, fullPage: true }));
  const width = page.viewportSize()?.width ?? 1280;
  await page.screenshot({ path: file, fullPage: true, clip: { x: 0, y: 0, width, height: Math.ceil(box.y + box.height + 16) } });
}

/** A runbook of one or more tiers given as YAML text (indented as under `tiers:`). */
export function runbookYaml(name: string, faultClass: string, tiers: string, extra = ''): string {
  return `name: ${name}
faultClass: ${faultClass}
description: ${name} for the browser tests
match:
  - alertname = "${name}"
params:
  host: { from: labels.instance, pattern: '[a-z0-9.-]{1,64}' }
target: "{{ params.host }}"
safety: { cooldown: 0s, maxAttempts: { count: 100, per: 1h }, fleetBreaker: { maxTargets: 100, per: 1m } }
${extra}
tiers:
${tiers}`;
}
