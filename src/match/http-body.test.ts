import { describe, expect, it } from '@jest/globals';
import { labelSet } from '../core/alert.js';
import type { Runbook } from '../core/runbook.js';
import { compileRunbook } from './load-runbook.js';
import { renderPlan } from './plan.js';
import { formatIssue } from './runbook-issue.js';

const INJECTION = 'ok","admin":true,"x":"';

function text(http: string): string {
  return `name: x
faultClass: down
match: [alertname = "X"]
params:
  v: { from: labels.v, pattern: '[\\s\\S]*' }
target: t
tiers:
  - name: t
    steps:
      - name: s
        http:
${http}
`;
}

function compile(http: string): Runbook {
  const r = compileRunbook('x.yaml', text(http));
  if (!r.runbook) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.runbook;
}

function rendered(http: string, v: string): { body: string | null; headers: Record<string, unknown> } {
  const alert = { labels: labelSet([['alertname', 'X']]), fingerprint: 'f' };
  const r = renderPlan(compile(http), { params: { v }, target: 't', pool: null, runId: '01R', runUrl: 'http://r/runs/01R', alert });
  if (!r.ok) throw new Error(r.message);
  const request = r.plan.tiers[0]?.steps[0]?.http;
  return { body: request?.body ?? null, headers: { ...request?.headers } };
}

describe('an http body with alert data in it', () => {
  it('keeps a JSON text body JSON, the value one string field, with no key added', () => {
    const http = `          method: POST
          url: "http://x/"
          headers: { Content-Type: application/json }
          body: '{"user": "{{ params.v }}", "n": 1}'`;
    const { body } = rendered(http, INJECTION);
    const parsed = JSON.parse(body ?? '') as Record<string, unknown>;
    expect(parsed).toEqual({ user: INJECTION, n: 1 });
    expect(Object.keys(parsed)).not.toContain('admin');
  });

  it.each(['a\\"b\\\\', 'line\nbreak\u0000\u2028', '😀 \ud800'])('JSON-escapes %j so the body still parses to it', (value) => {
    const http = `          method: PUT
          url: "http://x/"
          headers: { content-type: "application/merge-patch+json; charset=utf-8" }
          body: '["{{ params.v }}"]'`;
    expect(JSON.parse(rendered(http, value).body ?? '')).toEqual([value]);
  });

  it('serialises a map body as JSON with templates in its string values, and sends it as application/json', () => {
    const http = `          method: POST
          url: "http://x/"
          body:
            user: "{{ params.v }}"
            nested: { list: ["a {{ params.v }} b", 2, true, null] }`;
    const { body, headers } = rendered(http, INJECTION);
    expect(JSON.parse(body ?? '')).toEqual({ user: INJECTION, nested: { list: [`a ${INJECTION} b`, 2, true, null] } });
    expect(headers).toEqual({ 'Content-Type': 'application/json' });
  });

  it('percent-encodes values in a form body, so a value cannot add a field', () => {
    const http = `          method: POST
          url: "http://x/"
          headers: { Content-Type: application/x-www-form-urlencoded }
          body: "user={{ params.v }}&n=1"`;
    const { body } = rendered(http, 'a&admin=true b+c');
    expect([...new URLSearchParams(body ?? '')]).toEqual([
      ['user', 'a&admin=true b+c'],
      ['n', '1'],
    ]);
  });

  it('sends a text/plain body as written', () => {
    const http = `          method: POST
          url: "http://x/"
          headers: { Content-Type: text/plain }
          body: "restart {{ params.v }}"`;
    expect(rendered(http, 'a "b"').body).toBe('restart a "b"');
  });

  it.each<[string, string, string]>([
    [
      'a JSON body with a value outside a string',
      `headers: { Content-Type: application/json }\n          body: '{"n": {{ params.v }}}'`,
      '15:17: "{{ params.v }}" is outside a JSON string in a JSON body',
    ],
    ['a JSON body that is not JSON', `headers: { Content-Type: application/json }\n          body: '{"n": "{{ params.v }}"'`, '15:17: header "Content-Type" says JSON, but the body is not JSON'],
    ['a templated body without a Content-Type', `body: '{"n": "{{ params.v }}"}'`, '14:17: a templated body has no Content-Type header'],
    ['a templated body with a templated Content-Type', `headers: { Content-Type: "{{ params.v }}" }\n          body: 'x {{ params.v }}'`, '15:17: a templated body has a header "Content-Type" that is not literal'],
    ['a templated body with a Content-Type nothing escapes for', `headers: { Content-Type: application/xml }\n          body: '<a>{{ params.v }}</a>'`, '15:17: a templated body has a Content-Type remediator cannot escape values for'],
    ['a map body sent as another type', `headers: { Content-Type: text/plain }\n          body: { a: b }`, '15:17: a map or list body is sent as JSON'],
    ['a map body with a templated key', `body: { "{{ params.v }}": b }`, '14:19: keys of a body are literal'],
  ])('refuses at load %s, with its line and column', (_what, rest, want) => {
    const r = compileRunbook('x.yaml', text(`          method: POST\n          url: "http://x/"\n          ${rest}`));
    expect(r.runbook).toBeUndefined();
    const [pos, ...message] = want.split(': ');
    expect(r.errors.map(formatIssue)).toEqual([expect.stringContaining(`x.yaml:${pos}: ${message.join(': ')}`)]);
  });

  it('keeps an untemplated body of any type as written', () => {
    const http = `          method: POST
          url: "http://x/"
          headers: { Content-Type: application/xml }
          body: "<a>literal</a>"`;
    expect(rendered(http, 'x').body).toBe('<a>literal</a>');
  });
});
