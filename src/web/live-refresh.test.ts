import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { html } from './html.js';
import { LIVE_SCRIPT_HASH } from './live-refresh.js';
import { layout } from './page-layout.js';
import { LIVE_PAGE_CSP, PAGE_CSP } from './page-response.js';

const live = { everyMs: 2000, asOf: '2026-11-26T14:00:00.000Z', why: 'the run is running' };

describe('live pages', () => {
  it('carry exactly one script, whose sha256 is the one the live policy allows', () => {
    const page = layout('Run R', html`<p>body</p>`, live);
    const scripts = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '');
    expect(scripts).toHaveLength(1);
    const hash = `'sha256-${createHash('sha256').update(scripts[0] ?? '').digest('base64')}'`;
    expect(hash).toBe(LIVE_SCRIPT_HASH);
    expect(LIVE_PAGE_CSP).toBe(`default-src 'none'; style-src 'unsafe-inline'; script-src ${hash}; connect-src 'self'; form-action 'self'; frame-ancestors 'none'`);
  });

  it('say they are live in <main>, which the script replaces, and reload without scripts', () => {
    const page = layout('Run R', html`<p>body</p>`, live);
    expect(page).toContain('<main data-live="2000"><h1>Run R</h1>\n<p class="live">Live: the run is running;');
    expect(page).toContain('<noscript><meta http-equiv="refresh" content="2"></noscript></head>');
  });

  it('are the exception: a page without anything active has no script, no refresh and the strict policy', () => {
    const page = layout('Run R', html`<p>body</p>`);
    expect(page).not.toMatch(/<script|<noscript|data-live|http-equiv/);
    expect(PAGE_CSP).not.toContain('script-src');
  });
});
