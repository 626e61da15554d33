import { describe, expect, it } from '@jest/globals';
import { escapeHtml, externalHref, Href, html, link, SafeHtml, sitePath } from './html.js';

describe('escapeHtml', () => {
  it.each([
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['"><img src=x onerror=alert(1)>', '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'],
    ["it's & more", 'it&#39;s &amp; more'],
    ['&amp;', '&amp;amp;'],
    ['plain text', 'plain text'],
  ])('escapes %j as %j', (input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
  });
});

describe('the html tag', () => {
  it('escapes every interpolated string, number and nested array but keeps markup made by the tag', () => {
    const evil = '<b onclick="x">';
    const out = html`<p title="${evil}">${[evil, html`<i>${evil}</i>`]} ${42}${null}${undefined}${false}</p>`.toString();
    expect(out).toBe('<p title="&lt;b onclick=&quot;x&quot;&gt;">&lt;b onclick=&quot;x&quot;&gt;<i>&lt;b onclick=&quot;x&quot;&gt;</i> 42</p>');
  });

  it('refuses to make SafeHtml or an Href from outside the module', () => {
    expect(() => new SafeHtml(Symbol('remediator-safe-html'), '<script>')).toThrow(TypeError);
    expect(() => new Href(Symbol('remediator-safe-html'), 'javascript:alert(1)')).toThrow(TypeError);
  });
});

describe('externalHref', () => {
  it.each([
    ['http://prometheus:9090/graph?g0.expr=up', 'http://prometheus:9090/graph?g0.expr=up'],
    ['https://grafana.example/d/x', 'https://grafana.example/d/x'],
    ['javascript:alert(1)', null],
    ['JaVaScRiPt:alert(1)', null],
    [' javascript:alert(1)', null],
    ['data:text/html,<script>alert(1)</script>', null],
    ['vbscript:msgbox', null],
    ['/relative/path', null],
    ['//evil.example/x', null],
    ['', null],
  ])('accepts only http(s): %j', (input, expected) => {
    expect(externalHref(input)?.toString() ?? null).toBe(expected);
  });

  it('encodes quotes so a URL cannot leave its attribute', () => {
    const href = externalHref('http://x.example/"><script>');
    expect(href).not.toBeNull();
    expect(link(href as Href, 'x').toString()).not.toMatch(/<script>|"></);
  });
});

describe('sitePath', () => {
  it.each([
    [['runs', 'abc'], {}, '/runs/abc'],
    [['runs', 'a/b?c#d'], {}, '/runs/a%2Fb%3Fc%23d'],
    [['runs', '..'], {}, '/runs/%2E%2E'],
    [['runs'], { state: 'failed', runbook: '', target: undefined, cursor: 'x&y=z' }, '/runs?state=failed&cursor=x%26y%3Dz'],
    [[], {}, '/'],
  ] as const)('builds %j with %j as %s', (segments, query, expected) => {
    expect(sitePath(segments, query).toString()).toBe(expected);
  });

  it('makes links that stay on this site without rel, and external ones with noopener', () => {
    expect(link(sitePath(['runs']), '<x>').toString()).toBe('<a href="/runs">&lt;x&gt;</a>');
    expect(link(externalHref('https://a.example/') as Href, 'a').toString()).toBe('<a href="https://a.example/" rel="noopener noreferrer">a</a>');
  });
});
