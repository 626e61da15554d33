import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { RemediatorError } from '../core/errors.js';
import { parseWebhookBody } from './webhook-payload.js';

const firing = readFileSync(new URL('../../test/fixtures/alertmanager/alertmanager-0.25-firing.json', import.meta.url), 'utf8');
const resolved = readFileSync(new URL('../../test/fixtures/alertmanager/alertmanager-0.25-resolved.json', import.meta.url), 'utf8');

function withAlert(patch: Record<string, unknown>): string {
  const body = JSON.parse(firing) as { alerts: Record<string, unknown>[] };
  body.alerts[0] = { ...body.alerts[0], ...patch };
  return JSON.stringify(body);
}

function codeOf(text: string): string {
  try {
    parseWebhookBody(text);
    return 'ok';
  } catch (err) {
    return err instanceof RemediatorError ? err.code : 'thrown';
  }
}

describe('parseWebhookBody', () => {
  it('reads the real Alertmanager 0.25 firing body', () => {
    const body = parseWebhookBody(firing);
    expect(body.status).toBe('firing');
    expect(body.alerts).toHaveLength(1);
    const [alert] = body.alerts;
    expect(alert?.fingerprint).toBe('3585a2431cd692f1');
    expect(alert?.startsAt).toBe('2026-11-26T14:31:52.553Z');
    expect(alert?.labels.alertname).toBe('ProbeFlagHigh');
    expect(Object.getPrototypeOf(alert?.labels)).toBeNull();
  });

  it('reads the real Alertmanager 0.25 resolved body', () => {
    expect(parseWebhookBody(resolved).alerts[0]?.status).toBe('resolved');
  });

  it('ignores fields it does not know, as newer Alertmanagers add some', () => {
    const body = JSON.parse(firing) as Record<string, unknown>;
    body.notification_reason = 'first notification';
    expect(parseWebhookBody(JSON.stringify(body)).alerts).toHaveLength(1);
  });

  it.each([
    ['malformed JSON', '{"version": "4", ', 'BAD_JSON'],
    ['a JSON array', '[]', 'BAD_PAYLOAD'],
    ['a wrong version', firing.replace('"version": "4"', '"version": "3"'), 'UNSUPPORTED_VERSION'],
    ['a missing version', JSON.stringify({ status: 'firing', alerts: [] }), 'UNSUPPORTED_VERSION'],
    ['a missing alerts array', JSON.stringify({ version: '4', status: 'firing' }), 'BAD_PAYLOAD'],
    ['a bad top-level status', firing.replace('"status": "firing",\n  "alerts"', '"status": "burning",\n  "alerts"'), 'BAD_PAYLOAD'],
    ['a number label value', withAlert({ labels: { alertname: 1 } }), 'BAD_PAYLOAD'],
    ['an invalid label name', withAlert({ labels: { 'bad-name': 'x' } }), 'BAD_PAYLOAD'],
    ['a __proto__ label', withAlert({ labels: JSON.parse('{"__proto__": "x"}') as unknown }), 'BAD_PAYLOAD'],
    ['a missing fingerprint', withAlert({ fingerprint: undefined }), 'BAD_PAYLOAD'],
    ['a startsAt that is not RFC 3339', withAlert({ startsAt: 'yesterday' }), 'BAD_PAYLOAD'],
    ['an alert status that is unknown', withAlert({ status: 'pending' }), 'BAD_PAYLOAD'],
  ])('refuses %s', (_what, text, code) => {
    expect(codeOf(text)).toBe(code);
  });

  it('accepts nanosecond startsAt precision as sent by the API', () => {
    expect(parseWebhookBody(withAlert({ startsAt: '2026-11-26T14:30:04.765612888Z' })).alerts[0]?.startsAt).toBe(
      '2026-11-26T14:30:04.765612888Z',
    );
  });

  it('keeps a __proto__ key in annotations from reaching a prototype by refusing it', () => {
    const text = withAlert({ annotations: JSON.parse('{"__proto__": {"polluted": "yes"}}') as unknown });
    expect(codeOf(text)).toBe('BAD_PAYLOAD');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
